// A local HTTP server speaking the Hugging Face Hub's routes that checkpoint downloads use, so
// tests never reach the real Hub: `GET /api/models/<repo>/revision/<rev>` (the commit a branch
// points to), `POST /api/models/<repo>/paths-info/<rev>` (sizes and oids), and
// `GET|HEAD /<repo>/resolve/<rev>/<file>` with ETag, X-Repo-Commit, Content-Length and Range;
// LFS files (*.safetensors) answer with a 302 to `/cdn/<sha256>` carrying X-Linked-Etag and
// X-Linked-Size, as the Hub redirects to its CDN. Absent files are 404 with
// `X-Error-Code: EntryNotFound`. `cutAfter` makes the next body of a file stop after N bytes
// with the socket destroyed, once: a connection dropped mid-download.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeHubRequest {
  method: string;
  path: string;
  range: string | null;
}

export interface FakeHub {
  url: string;
  /** Adds a commit of `repo` holding `files` and points `branch` at it; returns its sha. */
  commit(repo: string, files: Record<string, Buffer | string>, branch?: string): string;
  /** The next body of `file` (past the size probe) stops after `bytes` bytes with the socket cut. */
  cutAfter(file: string, bytes: number): void;
  requests: FakeHubRequest[];
  close(): Promise<void>;
}

const gitBlobOid = (bytes: Buffer) =>
  createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const isLfs = (file: string) => file.endsWith('.safetensors');

export async function startFakeHub(): Promise<FakeHub> {
  const branches = new Map<string, string>(); // `${repo}@${branch}` -> commit
  const commits = new Map<string, Map<string, Buffer>>(); // `${repo}@${commit}` -> files
  const blobs = new Map<string, Buffer>(); // sha256 -> bytes (the CDN)
  const cuts = new Map<string, number>();
  const requests: FakeHubRequest[] = [];
  let counter = 0;

  const commitOf = (repo: string, rev: string) =>
    commits.has(`${repo}@${rev}`) ? rev : branches.get(`${repo}@${rev}`);

  const sendBytes = (
    req: IncomingMessage,
    res: ServerResponse,
    bytes: Buffer,
    etag: string,
    cutKey: string,
  ) => {
    const headers: Record<string, string> = { etag: `"${etag}"`, 'accept-ranges': 'bytes' };
    let start = 0;
    let end = bytes.length - 1;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), end) : end;
      if (start > end) {
        res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
        return;
      }
      headers['content-range'] = `bytes ${start}-${end}/${bytes.length}`;
    }
    const body = bytes.subarray(start, end + 1);
    res.writeHead(range ? 206 : 200, { ...headers, 'content-length': String(body.length) });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const cut = cuts.get(cutKey);
    if (cut !== undefined && body.length > 1) {
      cuts.delete(cutKey);
      res.write(body.subarray(0, cut), () => res.socket?.destroy());
      return;
    }
    res.end(body);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub');
    const path = decodeURIComponent(url.pathname);
    requests.push({ method: req.method ?? 'GET', path, range: req.headers.range ?? null });
    const notFound = (code = 'RepoNotFound') =>
      res
        .writeHead(404, { 'x-error-code': code, 'content-type': 'application/json' })
        .end('{"error":"not found"}');

    const info = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(path);
    if (info && req.method === 'GET') {
      const [, repo, rev] = info as unknown as [string, string, string];
      const sha = commitOf(repo, rev);
      if (!sha) return notFound('RevisionNotFound');
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(
        JSON.stringify({ _id: repo, id: repo, sha, private: false, lastModified: new Date().toISOString() }),
      );
    }
    const paths = /^\/api\/models\/([^/]+\/[^/]+)\/paths-info\/(.+)$/.exec(path);
    if (paths && req.method === 'POST') {
      const [, repo, rev] = paths as unknown as [string, string, string];
      let raw = '';
      req.on('data', (chunk) => {
        raw += chunk;
      });
      req.on('end', () => {
        const sha = commitOf(repo, rev);
        const files = sha ? commits.get(`${repo}@${sha}`) : undefined;
        if (!files) return notFound('RevisionNotFound');
        const wanted = (JSON.parse(raw) as { paths: string[] }).paths;
        const found = wanted.flatMap((p) => {
          const bytes = files.get(p);
          if (!bytes) return [];
          const lfs = isLfs(p) ? { oid: sha256(bytes), size: bytes.length, pointerSize: 134 } : undefined;
          return [
            { type: 'file', path: p, size: bytes.length, oid: gitBlobOid(bytes), ...(lfs ? { lfs } : {}) },
          ];
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(found));
      });
      return;
    }
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(path);
    if (cdn) {
      const bytes = blobs.get(cdn[1]!);
      if (!bytes) return notFound('EntryNotFound');
      return sendBytes(req, res, bytes, cdn[1]!, `cdn:${cdn[1]}`);
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (resolve) {
      const [, repo, rev, file] = resolve as unknown as [string, string, string, string];
      const sha = commitOf(repo, rev);
      const bytes = sha ? commits.get(`${repo}@${sha}`)?.get(file) : undefined;
      if (!sha || !bytes) return notFound('EntryNotFound');
      res.setHeader('x-repo-commit', sha);
      if (isLfs(file)) {
        const oid = sha256(bytes);
        res.writeHead(302, {
          location: `/cdn/${oid}`,
          'x-linked-etag': `"${oid}"`,
          'x-linked-size': String(bytes.length),
        });
        return res.end();
      }
      return sendBytes(req, res, bytes, gitBlobOid(bytes), `file:${file}`);
    }
    notFound();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    commit(repo, files, branch = 'main') {
      const sha = createHash('sha1').update(`${repo} ${++counter} ${Date.now()}`).digest('hex');
      const stored = new Map<string, Buffer>();
      for (const [name, content] of Object.entries(files)) {
        const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
        stored.set(name, bytes);
        if (isLfs(name)) blobs.set(sha256(bytes), bytes);
      }
      commits.set(`${repo}@${sha}`, stored);
      branches.set(`${repo}@${branch}`, sha);
      return sha;
    },
    cutAfter(file, bytes) {
      // LFS bodies come from the CDN route, the others from resolve.
      cuts.set(isLfs(file) ? `cdn:${sha256Of(file)}` : `file:${file}`, bytes);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };

  function sha256Of(file: string): string {
    // The latest commit holding it: what a download of the branch fetches.
    const bytes = [...commits.values()]
      .reverse()
      .find((files) => files.has(file))
      ?.get(file);
    if (!bytes) throw new Error(`no commit holds ${file}`);
    return sha256(bytes);
  }
}
