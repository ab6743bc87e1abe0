// Sending a local source to the ingest service, wherever it lies on this machine: a folder (or a
// single manifest or Parquet file) is tarred on the fly, an archive is sent as it is, and either
// goes through the service's resumable upload (POST /v1/uploads, PUT .../parts/:n, complete) in
// parts of the size the service names, each with its sha256. Nothing is staged on local disk.
//
// Resuming: the tar of a folder is deterministic (sorted names, fixed modes, times and owners), so
// the same unchanged folder gives the same bytes again. The upload's id is kept in a small state
// file keyed by the source's path and listing (sizes, modification times); a rerun asks the
// service which parts it holds and sends a part again only when it is missing or its sha256
// differs (a changed file changes the parts it falls in, and exactly those are sent again).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, opendir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { UploadPart, UploadSession } from '@mmit/contracts';
// The subpath alone: the package's index would load the S3 client and the embedded server.
import { partsOf } from '@mmit/storage/parts';
import { pack } from 'tar-stream';
import { type ApiClient, ApiError } from './http-client.js';

export interface LocalFile {
  /** POSIX path inside the tar. */
  name: string;
  path: string;
  size: number;
  mtimeMs: number;
}

export interface LocalSource {
  /** What the upload is called on the service (`<folder>.tar`, or the archive's own name). */
  filename: string;
  /** Bytes the upload will have (exact for archives and for tars of short names). */
  size: number;
  /** Identifies this source in this state (path, names, sizes, times) for resuming. */
  fingerprint: string;
  open(): Readable;
}

const TAR_BLOCK = 512;
/** tar-stream writes a PAX header for names over 100 bytes: sizes are then estimates. */
const USTAR_NAME_BYTES = 100;

/** Regular files under `root`, depth first in sorted order; hidden files and symlinks left out (the service skips them too). */
export async function listFolder(root: string): Promise<LocalFile[]> {
  const files: LocalFile[] = [];
  const walk = async (rel: string) => {
    const names: string[] = [];
    for await (const dirent of await opendir(join(root, rel))) names.push(dirent.name);
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      if (name.startsWith('.') || name === '__MACOSX') continue;
      const relPath = rel ? `${rel}/${name}` : name;
      const info = await lstat(join(root, relPath));
      if (info.isDirectory()) await walk(relPath);
      else if (info.isFile())
        files.push({ name: relPath, path: join(root, relPath), size: info.size, mtimeMs: info.mtimeMs });
    }
  };
  await walk('');
  return files;
}

/** A tar of `files` that is the same bytes every time for the same files and contents. */
export function deterministicTar(files: LocalFile[]): Readable {
  const packer = pack();
  (async () => {
    for (const file of files) {
      const entry = packer.entry({
        name: file.name,
        size: file.size,
        mode: 0o644,
        mtime: new Date(0),
        uid: 0,
        gid: 0,
        uname: '',
        gname: '',
      });
      // Bounded at the listed size: a file that grows meanwhile cannot shift the later parts; one
      // that shrinks makes tar-stream fail the upload rather than send a short entry.
      if (file.size === 0) entry.end(Buffer.alloc(0));
      else await pipeline(createReadStream(file.path, { end: file.size - 1 }), entry);
    }
    packer.finalize();
  })().catch((err: unknown) => packer.destroy(err as Error));
  return packer as unknown as Readable;
}

function tarSize(files: LocalFile[]): number {
  let size = 2 * TAR_BLOCK;
  for (const file of files) {
    size += TAR_BLOCK + Math.ceil(file.size / TAR_BLOCK) * TAR_BLOCK;
    if (Buffer.byteLength(file.name) > USTAR_NAME_BYTES) size += 3 * TAR_BLOCK;
  }
  // tar-stream pads the end to whole records only in the two end blocks.
  return size;
}

function fingerprintOf(path: string, files: LocalFile[]): string {
  const hash = createHash('sha256').update(resolve(path));
  for (const f of files) hash.update(`\0${f.name}\0${f.size}\0${f.mtimeMs}`);
  return hash.digest('hex').slice(0, 32);
}

/** Keeps a name to the characters the service allows in an upload's file name. */
function uploadName(name: string): string {
  return (
    name
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^\.+/, '')
      .slice(-100) || 'upload'
  );
}

/**
 * The source at `path`: a folder or a non-archive file (a manifest, a Parquet file) becomes a tar;
 * an archive (`isArchive`) is sent as it is.
 */
export async function localSource(path: string, isArchive: boolean): Promise<LocalSource> {
  const info = await stat(path);
  if (info.isFile() && isArchive) {
    const file = { name: basename(path), path, size: info.size, mtimeMs: info.mtimeMs };
    return {
      filename: uploadName(basename(path)),
      size: info.size,
      fingerprint: fingerprintOf(path, [file]),
      open: () => createReadStream(path),
    };
  }
  const files = info.isDirectory()
    ? await listFolder(path)
    : [{ name: basename(path), path, size: info.size, mtimeMs: info.mtimeMs }];
  if (files.length === 0) throw new Error(`${path} holds no files to upload`);
  return {
    filename: uploadName(`${basename(resolve(path))}.tar`),
    size: tarSize(files),
    fingerprint: fingerprintOf(path, files),
    open: () => deterministicTar(files),
  };
}

/** Where upload ids are kept for resuming: $MMIT_STATE_DIR, else $XDG_STATE_HOME/mmit, else ~/.local/state/mmit. */
function stateDir(): string {
  if (process.env.MMIT_STATE_DIR) return process.env.MMIT_STATE_DIR;
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'mmit');
}

interface Resumable {
  url: string;
  uploadId: string;
}

async function readState(file: string): Promise<Resumable | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<Resumable>;
    return typeof value.url === 'string' && typeof value.uploadId === 'string'
      ? { url: value.url, uploadId: value.uploadId }
      : undefined;
  } catch {
    return undefined;
  }
}

export interface UploadProgress {
  /** Bytes handled so far (sent, or found already on the service). */
  done: number;
  total: number;
  /** Of `done`, bytes the service already held from an earlier try. */
  resumed: number;
}

const PART_TRIES = 4;

async function sendPart(client: ApiClient, uploadId: string, n: number, part: Buffer, sha256: string) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.json<UploadPart>(`/v1/uploads/${uploadId}/parts/${n}`, {
        method: 'PUT',
        headers: {
          'content-type': 'application/octet-stream',
          'content-digest': `sha-256=:${Buffer.from(sha256, 'hex').toString('base64')}:`,
        },
        body: new Uint8Array(part.buffer, part.byteOffset, part.length),
      });
    } catch (err) {
      // Unreachable (0) or a server-side hiccup (5xx) is tried again; a refusal (4xx) is final.
      const status = err instanceof ApiError ? err.status : 0;
      if (attempt >= PART_TRIES || (status >= 400 && status < 500)) throw err;
      await new Promise((r) => setTimeout(r, 500 * 2 ** (attempt - 1)));
    }
  }
}

/**
 * Uploads `source` and returns the completed upload (its `key` is what an import names). An
 * interrupted upload is resumed by calling this again with the same, unchanged source.
 */
export async function uploadSource(
  client: ApiClient,
  source: LocalSource,
  onProgress: (progress: UploadProgress) => void = () => {},
): Promise<UploadSession> {
  const dir = join(stateDir(), 'uploads');
  const stateFile = join(dir, `${source.fingerprint}.json`);
  let session: UploadSession | undefined;
  const saved = await readState(stateFile);
  if (saved && saved.url === client.url('')) {
    session = await client.json<UploadSession>(`/v1/uploads/${saved.uploadId}`).catch((err: unknown) => {
      // Gone (imported, aborted) or unknown: start over; anything else is the user's to see.
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    });
    if (session?.state === 'complete') session = undefined;
  }
  if (!session) {
    session = await client.postJson<UploadSession>('/v1/uploads', { filename: source.filename });
    await mkdir(dir, { recursive: true });
    await writeFile(stateFile, JSON.stringify({ url: client.url(''), uploadId: session.id }));
  }
  const held = new Map(session.parts.map((p) => [p.n, p]));
  const progress: UploadProgress = { done: 0, total: source.size, resumed: 0 };
  let n = 0;
  for await (const part of partsOf(source.open(), session.partBytes)) {
    n++;
    const sha256 = createHash('sha256').update(part).digest('hex');
    const have = held.get(n);
    if (have && have.sha256 === sha256 && have.size === part.length) progress.resumed += part.length;
    else await sendPart(client, session.id, n, part, sha256);
    progress.done += part.length;
    progress.total = Math.max(progress.total, progress.done);
    onProgress(progress);
  }
  if (n === 0) throw new Error('the source is empty: nothing to upload');
  const done = await client.postJson<UploadSession>(`/v1/uploads/${session.id}/complete`, { parts: n });
  await rm(stateFile, { force: true });
  return done;
}

/** Bytes for people: 1.2 MB, 345 kB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1000;
    unit++;
  } while (value >= 1000 && unit < units.length - 1);
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
