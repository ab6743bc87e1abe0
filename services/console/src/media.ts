// `/media/thumb/<aa>/<sha256>.<ext>`: image thumbnails for the corpus grid, read from the bucket.
// A stopgap, and the one place the console reads storage: ingest stores thumbnails
// (`media/thumb/...`, content-addressed) but has no HTTP route for them yet. Only keys that
// `keys.thumbnail` would build are served, so no other object is reachable; with MMIT_API_KEY
// set the same bearer key is required as on the services. Without bucket settings it answers 404.
import { keys, problem } from '@mmit/contracts';
import { bearerAuth } from '@mmit/service-kit';
import { type Bucket, ObjectNotFoundError } from '@mmit/storage';
import express, { type Request, type Response, type Router } from 'express';

const THUMBNAIL_PATH = /^\/thumb\/([0-9a-f]{2})\/([0-9a-f]{64})\.(webp|jpeg|jpg|png)$/;

function notFound(res: Response, detail: string): void {
  res
    .status(404)
    .type('application/problem+json')
    .send(JSON.stringify(problem('not_found', detail)));
}

export function mediaRouter(bucket: Bucket | undefined, apiKey: string | undefined): Router {
  const router = express.Router();
  router.use(bearerAuth(apiKey));
  router.get(/.*/, async (req: Request, res: Response) => {
    const match = THUMBNAIL_PATH.exec(req.path);
    if (!match || match[2].slice(0, 2) !== match[1]) {
      return notFound(
        res,
        `${req.path} is not a thumbnail path (/media/thumb/<aa>/<sha256>.<webp|jpeg|png>)`,
      );
    }
    if (!bucket)
      return notFound(res, 'the console has no bucket settings (MMIT_S3_ENDPOINT), so no thumbnails');
    const key = keys.thumbnail(match[2], match[3]);
    try {
      const body = await bucket.getStream(key);
      res.type(match[3]);
      // Content-addressed: the bytes under a key never change.
      res.setHeader('Cache-Control', 'private, max-age=31536000, immutable');
      body.pipe(res);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return notFound(res, `no thumbnail ${key}`);
      throw err;
    }
  });
  return router;
}
