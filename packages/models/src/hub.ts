// Finding a checkpoint folder: a local path, or a Hugging Face repo id resolved to a snapshot in
// the cache that Python's huggingface_hub uses (`$HF_HUB_CACHE`, default `$HF_HOME/hub`):
// `models--owner--name/refs/<branch>` holds the commit a branch pointed to, `blobs/<etag>` the
// files (etag: the LFS sha256, else the git blob id, as Python names them), and
// `snapshots/<commit>/<file>` relative symlinks to the blobs. So a model downloaded by either
// side is found by the other, and a partial `blobs/<etag>.incomplete` left by either is continued.
//
// The Hub is spoken to through @huggingface/hub: `modelInfo` turns a branch or tag into a commit,
// `pathsInfo` gives each file's size and etag at that commit, `downloadFile` the file (plain or
// Xet) as a Blob whose slices are HTTP range requests, which is how a download resumes. Files are
// always fetched at the commit, never at the branch, so a branch that moves mid-download cannot
// mix two versions, and a commit given as the revision needs no network once cached.
//
// Limits: only model repos; the file set is what a checkpoint needs (config, weights, tokenizer and
// processor files), not the whole repo; the lock that keeps two processes off one blob is a file
// holding the owner's pid, so it excludes processes of this host, not other hosts on a shared disk.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { downloadFile, getHFHubCachePath, modelInfo, type PathInfo, pathsInfo } from '@huggingface/hub';

export class CheckpointNotFoundError extends Error {
  override name = 'CheckpointNotFoundError';
}

/** Where a download stands, over every file one resolve fetches; `bytes` never decreases. */
export interface HubProgress {
  repoId: string;
  /** The commit being downloaded. */
  commit: string;
  /** The file being fetched now. */
  file: string;
  fileBytes: number;
  fileTotal: number;
  bytes: number;
  total: number;
}

export interface HubOptions {
  /** A branch, tag or commit sha; default `main`. A commit pins the files exactly. */
  revision?: string;
  /** The hub cache (Python's layout); default HF_HUB_CACHE, else `$HF_HOME/hub`. */
  cacheDir?: string;
  /** A Hugging Face token (`hf_...`); default HF_TOKEN. */
  token?: string;
  /** Base URL of the hub (tests and mirrors); default HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Never touch the network (also set by HF_HUB_OFFLINE=1). */
  offline?: boolean;
  /** Called as bytes arrive (at most every `progressIntervalMs`, and always at the end of each file). */
  onProgress?: (progress: HubProgress) => void;
  /** Default 250; 0 reports every chunk. */
  progressIntervalMs?: number;
  /** Attempts per file after a dropped connection, each resuming where the last stopped; default 5. */
  retries?: number;
}

/** A resolved checkpoint: its folder, and for a repo id the repo and the commit it resolved to. */
export interface ResolvedCheckpoint {
  dir: string;
  repoId: string | null;
  /** The commit sha of the snapshot (null for a local folder). */
  commit: string | null;
}

const repoIdPattern = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;
const commitPattern = /^[0-9a-f]{40}$/;

/** Files fetched besides config and weights; absent ones are skipped. */
const optionalFiles = [
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'preprocessor_config.json',
];

/** mmit's own folder for files it makes (bench checkpoints), `MMIT_CACHE` or `$HF_HOME/mmit`. */
export function defaultCacheDir(): string {
  if (process.env.MMIT_CACHE) return process.env.MMIT_CACHE;
  return join(process.env.HF_HOME ?? join(homedir(), '.cache', 'huggingface'), 'mmit');
}

/** The hub cache, resolved from the environment as Python's huggingface_hub does. */
export function hubCacheDir(): string {
  return getHFHubCachePath();
}

export function isRepoId(value: string): boolean {
  return repoIdPattern.test(value) && !value.startsWith('.') && !value.includes('..');
}

export function isCommitSha(value: string): boolean {
  return commitPattern.test(value);
}

/** huggingface_hub's truthy spellings of a boolean variable. */
function envFlag(name: string): boolean {
  return ['1', 'on', 'yes', 'true'].includes((process.env[name] ?? '').trim().toLowerCase());
}

/** `models--owner--name` under the cache. */
export function hubRepoFolder(repoId: string, cacheDir = hubCacheDir()): string {
  return join(cacheDir, `models--${repoId.split('/').join('--')}`);
}

function isCompleteFolder(dir: string): boolean {
  if (!existsSync(join(dir, 'config.json'))) return false;
  if (existsSync(join(dir, 'model.safetensors'))) return true;
  const index = join(dir, 'model.safetensors.index.json');
  if (!existsSync(index)) return false;
  try {
    return shardsOf(readFileSync(index, 'utf8')).every((file) => existsSync(join(dir, file)));
  } catch {
    return false;
  }
}

function shardsOf(indexJson: string): string[] {
  const weightMap = (JSON.parse(indexJson) as { weight_map?: Record<string, string> }).weight_map ?? {};
  return [...new Set(Object.values(weightMap))];
}

function readRef(repoDir: string, revision: string): string | null {
  const file = join(repoDir, 'refs', revision);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : null;
}

/**
 * Returns a local folder holding `config.json` and the safetensors weights for `idOrPath`,
 * downloading a repo id into the hub cache when it is not there yet.
 */
export async function resolveCheckpoint(idOrPath: string, options: HubOptions = {}): Promise<string> {
  return (await resolveHubCheckpoint(idOrPath, options)).dir;
}

/** As resolveCheckpoint, and says which commit a repo id resolved to (to pin it in a run). */
export async function resolveHubCheckpoint(
  idOrPath: string,
  options: HubOptions = {},
): Promise<ResolvedCheckpoint> {
  // One message for "no such folder", "a folder without config.json" and "not a folder": which
  // server folders exist is none of a caller's business.
  const notACheckpoint = () =>
    new CheckpointNotFoundError(
      `${idOrPath} is neither a checkpoint folder (config.json + safetensors) nor a Hugging Face repo id of the form owner/name`,
    );
  if (existsSync(idOrPath) && statSync(idOrPath).isDirectory()) {
    if (!existsSync(join(idOrPath, 'config.json'))) throw notACheckpoint();
    return { dir: idOrPath, repoId: null, commit: null };
  }
  if (!isRepoId(idOrPath)) throw notACheckpoint();
  const repoId = idOrPath;
  const revision = options.revision ?? 'main';
  const cacheDir = options.cacheDir ?? hubCacheDir();
  const repoDir = hubRepoFolder(repoId, cacheDir);
  const cached = (commit: string | null): ResolvedCheckpoint | null => {
    if (!commit) return null;
    const dir = join(repoDir, 'snapshots', commit);
    return isCompleteFolder(dir) ? { dir, repoId, commit } : null;
  };
  // A commit's files never change: once cached, no need to ask the hub anything.
  const pinned = isCommitSha(revision) ? cached(revision) : null;
  if (pinned) return pinned;
  const offline = options.offline ?? envFlag('HF_HUB_OFFLINE');
  if (offline) {
    const hit = cached(readRef(repoDir, revision));
    if (hit) return hit;
    throw new CheckpointNotFoundError(
      `${repoId} (revision ${revision}) is not in the Hugging Face cache and offline mode is on (HF_HUB_OFFLINE); ` +
        'download it on a machine with network access (mmit download) or point to a local folder',
    );
  }
  const endpoint = options.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co';
  const token = options.token ?? process.env.HF_TOKEN;
  const hub = { hubUrl: endpoint.replace(/\/+$/, ''), ...(token ? { accessToken: token } : {}) };
  let commit: string;
  try {
    commit = isCommitSha(revision)
      ? revision
      : (await modelInfo({ ...hub, name: repoId, revision, additionalFields: ['sha'] })).sha;
    if (!commit || !isCommitSha(commit)) throw new Error(`the hub named no commit for revision ${revision}`);
  } catch (error) {
    // As huggingface_hub does: when the hub cannot be asked, the commit the branch last pointed to will do.
    const hit = cached(readRef(repoDir, revision));
    if (hit) return hit;
    throw downloadFailed(repoId, error);
  }
  if (commit !== revision) {
    await mkdir(join(repoDir, 'refs', dirname(revision)), { recursive: true });
    await writeFile(join(repoDir, 'refs', revision), commit);
  }
  const hit = cached(commit);
  if (hit) return hit;
  try {
    await downloadSnapshot({ repoId, commit, repoDir, hub, options });
  } catch (error) {
    throw downloadFailed(repoId, error);
  }
  const done = cached(commit);
  if (!done)
    throw downloadFailed(repoId, new Error(`commit ${commit} has no config.json and safetensors weights`));
  return done;
}

function downloadFailed(repoId: string, error: unknown): CheckpointNotFoundError {
  const reason = error instanceof Error ? error.message : String(error);
  return new CheckpointNotFoundError(
    `${repoId} is not a local folder, not in the Hugging Face cache, and downloading it failed (${reason}); ` +
      'check the network or HF_TOKEN, or pass a local checkpoint folder',
  );
}

/**
 * A local folder holding `file` (tokenizer.json, preprocessor_config.json) for `idOrPath`: a folder
 * that has it, or a repo id's checkpoint (its download fetches those files beside the weights).
 */
export async function resolveSideFolder(
  idOrPath: string,
  file: string,
  options: HubOptions = {},
): Promise<string> {
  if (existsSync(idOrPath) && statSync(idOrPath).isDirectory()) {
    if (!existsSync(join(idOrPath, file)))
      throw new CheckpointNotFoundError(`${idOrPath} is a folder without ${file}`);
    return idOrPath;
  }
  const dir = await resolveCheckpoint(idOrPath, options);
  if (!existsSync(join(dir, file))) throw new CheckpointNotFoundError(`${idOrPath} has no ${file}`);
  return dir;
}

interface HubCredentials {
  hubUrl: string;
  accessToken?: string;
}

interface SnapshotJob {
  repoId: string;
  commit: string;
  repoDir: string;
  hub: HubCredentials;
  options: HubOptions;
}

/** Blob names as Python's huggingface_hub gives them: the LFS sha256, else the git blob id. */
function etagOf(info: PathInfo): string {
  const etag = info.lfs?.oid ?? info.oid;
  if (!etag) throw new Error(`the hub gave no oid for ${info.path}`);
  return etag;
}

async function downloadSnapshot(job: SnapshotJob): Promise<void> {
  const { repoId, commit, repoDir, hub } = job;
  const snapshot = join(repoDir, 'snapshots', commit);
  const infoOf = async (paths: string[]) =>
    pathsInfo({ ...hub, repo: { type: 'model', name: repoId }, paths, revision: commit });
  const index = 'model.safetensors.index.json';
  const first = await infoOf(['config.json', 'model.safetensors', index, ...optionalFiles]);
  const found = new Map(first.filter((i) => i.type === 'file').map((i) => [i.path, i]));
  let weights = ['model.safetensors'];
  if (!found.has('model.safetensors') && found.has(index)) {
    await fetchFiles(job, [found.get(index)!]);
    weights = shardsOf(await readFile(join(snapshot, index), 'utf8'));
    for (const info of await infoOf(weights)) found.set(info.path, info);
  }
  const missing = ['config.json', ...weights].filter((file) => !found.has(file));
  if (missing.length > 0) throw new Error(`commit ${commit} has no ${missing.join(', ')}`);
  // Absent optional files are marked as Python marks them, so neither side asks the hub again.
  for (const file of optionalFiles.filter((f) => !found.has(f))) {
    const marker = join(repoDir, '.no_exist', commit, file);
    await mkdir(dirname(marker), { recursive: true });
    await writeFile(marker, '');
  }
  // config.json last: with the weights, its presence marks the snapshot complete.
  const order = [...optionalFiles, ...weights, 'config.json'];
  await fetchFiles(
    job,
    order.flatMap((file) => found.get(file) ?? []),
  );
}

/** Fetches files into blobs and links them into the snapshot, reporting bytes over all of them. */
async function fetchFiles(job: SnapshotJob, infos: PathInfo[]): Promise<void> {
  const { repoId, commit, repoDir, options } = job;
  const snapshot = join(repoDir, 'snapshots', commit);
  const todo = infos.filter((info) => !existsSync(join(snapshot, info.path)));
  const total = todo.reduce((sum, info) => sum + info.size, 0);
  let before = 0;
  const interval = options.progressIntervalMs ?? 250;
  for (const info of todo) {
    let last = 0;
    const report = (fileBytes: number, force: boolean) => {
      if (!options.onProgress) return;
      const now = Date.now();
      if (!force && now - last < interval) return;
      last = now;
      options.onProgress({
        repoId,
        commit,
        file: info.path,
        fileBytes,
        fileTotal: info.size,
        bytes: before + fileBytes,
        total,
      });
    };
    const blob = join(repoDir, 'blobs', etagOf(info));
    await withBlobLock(repoDir, blob, async () => {
      if (!existsSync(blob)) await downloadBlob(job, info, blob, report);
    });
    report(info.size, true);
    await linkIntoSnapshot(blob, join(snapshot, info.path));
    before += info.size;
  }
}

/**
 * Streams a file into `<blob>.incomplete`, appending from the size already there (a previous
 * attempt, process or Python), then renames it to the blob once its size is the hub's.
 */
async function downloadBlob(
  job: SnapshotJob,
  info: PathInfo,
  blob: string,
  report: (fileBytes: number, force: boolean) => void,
): Promise<void> {
  const partial = `${blob}.incomplete`;
  await mkdir(dirname(blob), { recursive: true });
  const attempts = 1 + (job.options.retries ?? 5);
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    let offset = existsSync(partial) ? (await stat(partial)).size : 0;
    if (offset > info.size) {
      await truncate(partial, 0);
      offset = 0;
    }
    report(offset, true);
    try {
      if (offset < info.size) {
        const file = await downloadFile({
          hubUrl: job.hub.hubUrl,
          ...(job.hub.accessToken ? { accessToken: job.hub.accessToken } : {}),
          repo: { type: 'model', name: job.repoId },
          path: info.path,
          revision: job.commit,
        });
        if (!file) throw new Error(`${info.path} vanished from commit ${job.commit}`);
        if (file.size !== info.size)
          throw new Error(`${info.path}: the hub lists ${info.size} bytes but serves ${file.size}`);
        await appendStream(partial, file.slice(offset).stream(), (n) => report(offset + n, false));
      }
      const size = (await stat(partial)).size;
      if (size !== info.size) {
        // A server that ignored the range would have appended the whole file: start over.
        await rm(partial, { force: true });
        throw new Error(`${info.path}: got ${size} bytes, want ${info.size}`);
      }
      await rename(partial, blob);
      return;
    } catch (error) {
      lastError = error;
      if (attempt + 1 < attempts) await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 4000)));
    }
  }
  throw lastError;
}

/** Appends a web stream to a file, calling `onBytes` with the bytes written so far. */
async function appendStream(
  path: string,
  stream: ReadableStream<Uint8Array>,
  onBytes: (written: number) => void,
): Promise<void> {
  const handle = await open(path, 'a');
  let written = 0;
  try {
    for await (const chunk of stream) {
      await handle.write(chunk);
      written += chunk.byteLength;
      onBytes(written);
    }
  } finally {
    await handle.close();
  }
}

/** A relative symlink, as huggingface_hub makes them (the cache can move); a copy where links fail. */
async function linkIntoSnapshot(blob: string, pointer: string): Promise<void> {
  await mkdir(dirname(pointer), { recursive: true });
  await rm(pointer, { force: true });
  try {
    await symlink(relative(dirname(pointer), blob), pointer);
  } catch {
    await writeFile(pointer, await readFile(blob));
  }
}

/**
 * Runs `work` holding `.locks/<repo>/<etag>.mmit.lock` (created exclusively, holding host and pid):
 * two replicas resolving one model must not append to one `.incomplete` file. A lock whose owner
 * process is gone (this host) is taken over.
 */
async function withBlobLock(repoDir: string, blob: string, work: () => Promise<void>): Promise<void> {
  const cacheDir = dirname(repoDir);
  const lock = join(cacheDir, '.locks', relative(cacheDir, repoDir), `${blob.split('/').at(-1)}.mmit.lock`);
  await mkdir(dirname(lock), { recursive: true });
  const owner = `${hostname()} ${process.pid}`;
  for (;;) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(owner);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (lockIsStale(lock)) await rm(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    await work();
  } finally {
    await rm(lock, { force: true });
  }
}

function lockIsStale(lock: string): boolean {
  let text: string;
  let age: number;
  try {
    text = readFileSync(lock, 'utf8');
    age = Date.now() - statSync(lock).mtimeMs;
  } catch {
    return false; // gone already: look again
  }
  // Empty: its owner is between creating and writing it, or died there.
  if (text === '') return age > 10_000;
  const [host, pid] = text.split(' ');
  // Another host's process cannot be asked whether it lives: wait for it.
  if (host !== hostname()) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch {
    return true;
  }
}

/** One line for a job's progress message: `downloading owner/name@abc1234: file 12.0/480.5 MB (2%)`. */
export function describeHubProgress(p: HubProgress): string {
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const percent = p.total > 0 ? Math.floor((100 * p.bytes) / p.total) : 100;
  return `downloading ${p.repoId}@${p.commit.slice(0, 7)}: ${p.file}, ${mb(p.bytes)}/${mb(p.total)} MB (${percent}%)`;
}
