// Makes s3rver's object writes atomic for readers. s3rver 3.7.1 streams a PUT straight into the
// final file and answers before the file is flushed, so a GET right after a successful PUT can
// read a truncated object (seen here: job records read back as half a JSON document). Copies
// are plain file copies with the same problem. These replacements write to a staging file and
// rename it into place, so a reader sees the old bytes or the new ones, and the PUT is answered
// only once the bytes are on disk. Metadata files are written before the rename, and they too are
// staged and renamed: s3rver rewrites metadata.json in place, and a GET that parsed it mid-write
// answered 500 (a quarter of reads racing two writers did, in a stress run). A GET reads the
// metadata and then opens the file; the guard (s3rver-guard.ts) holds the key's read lock across
// both, so no rename lands in between and a body is always served with its own length and etag.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type S3rver from 's3rver';

type Store = S3rver['store'];

export function makeWritesAtomic(store: Store, stagingDir: string): void {
  const staged = () => join(stagingDir, `${Date.now()}-${randomBytes(8).toString('hex')}`);
  /** Renames a staged file over `dest`: a reader sees the old file or the new one. */
  const moveIntoPlace = async (tmp: string, dest: string) => {
    await mkdir(dirname(dest), { recursive: true });
    await rename(tmp, dest);
  };
  /** Lands `dest` through a staging file: `fill` writes it (and whatever must land first), then one rename. */
  const landStaged = async (dest: string, fill: (tmp: string) => Promise<void>) => {
    await mkdir(stagingDir, { recursive: true });
    const tmp = staged();
    try {
      await fill(tmp);
      await moveIntoPlace(tmp, dest);
    } finally {
      await rm(tmp, { force: true });
    }
  };

  // s3rver's own putMetadata picks the allowed headers and writes two files through
  // getResourcePath; run it against staging paths, then rename each file into place.
  const writeMetadata = store.putMetadata;
  store.putMetadata = async (bucket, key, metadata, md5) => {
    await mkdir(stagingDir, { recursive: true });
    const moves = new Map<string, string>();
    const stagingStore = {
      getResourcePath: (b: string, k: string | undefined, resource: string) => {
        const tmp = staged();
        moves.set(tmp, store.getResourcePath(b, k, resource));
        return tmp;
      },
    };
    try {
      await writeMetadata.call(stagingStore as Store, bucket, key, metadata, md5);
      for (const [tmp, dest] of moves) await moveIntoPlace(tmp, dest);
    } finally {
      await Promise.all([...moves.keys()].map((tmp) => rm(tmp, { force: true })));
    }
  };

  /** Streams `body` into `path`, answering its size and MD5 (S3's etag for a single part). */
  const writeMeasured = async (body: NodeJS.ReadableStream, path: string) => {
    const md5 = createHash('md5');
    let size = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _enc, done) {
        md5.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    await pipeline(body, measure, createWriteStream(path));
    return { size, md5: md5.digest('hex') };
  };

  store.putObject = async (object) => {
    const body = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    let written = { size: 0, md5: '' };
    await landStaged(store.getResourcePath(object.bucket, object.key, 'object'), async (tmp) => {
      written = await writeMeasured(body, tmp);
      await store.putMetadata(object.bucket, object.key, object.metadata, written.md5);
    });
    return written;
  };

  // s3rver pipes a part's body with an error handler on the wrong stream: a body that fails (the
  // guard's hash check) left the request hanging. pipeline() carries the failure to the answer.
  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const partPath = join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
    await mkdir(dirname(partPath), { recursive: true });
    const written = await writeMeasured(content, partPath);
    await writeFile(`${partPath}.md5`, written.md5);
    return written;
  };

  // A copy lands like a write: staged, then renamed, metadata first.
  const copyIntoPlace = (src: string, dest: string) => landStaged(dest, (tmp) => copyFile(src, tmp));
  const ignoreMissing = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  };

  store.copyObject = async (srcBucket, srcKey, destBucket, destKey, replacementMetadata) => {
    const src = store.getResourcePath(srcBucket, srcKey, 'object');
    const dest = store.getResourcePath(destBucket, destKey, 'object');
    if (src !== dest) {
      await copyIntoPlace(`${src}.md5`, `${dest}.md5`).catch(ignoreMissing);
      if (!replacementMetadata) {
        await copyIntoPlace(
          store.getResourcePath(srcBucket, srcKey, 'metadata.json'),
          store.getResourcePath(destBucket, destKey, 'metadata.json'),
        ).catch(ignoreMissing);
      }
      await copyIntoPlace(src, dest);
    }
    if (replacementMetadata) await store.putMetadata(destBucket, destKey, replacementMetadata);
    return store.getMetadata(destBucket, destKey);
  };
}
