// Finding a checkpoint folder: a local path, or a Hugging Face repo id resolved to a cached
// download. Lookup order: the path itself; our cache (`MMIT_CACHE`, default
// `$HF_HOME/mmit`, HF_HOME defaulting to ~/.cache/huggingface); a snapshot that Python's
// huggingface_hub already downloaded (`$HF_HOME/hub/models--owner--name`); then a download from
// `https://huggingface.co/<id>/resolve/<revision>/<file>` (token from HF_TOKEN). Each file is
// streamed to a temporary name and renamed, so an interrupted download never looks complete.
// Limits: no resumable downloads, no LFS mirror selection, no progress reporting.
import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

export class CheckpointNotFoundError extends Error {
  override name = 'CheckpointNotFoundError';
}

export interface HubOptions {
  revision?: string;
  cacheDir?: string;
  token?: string;
  /** Base URL of the hub (tests and mirrors); default https://huggingface.co. */
  endpoint?: string;
  /** Never touch the network (also set by HF_HUB_OFFLINE=1). */
  offline?: boolean;
}

const repoIdPattern = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** Files fetched besides the weights; absent ones (404) are skipped. */
const optionalFiles = [
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'preprocessor_config.json',
];

export function defaultCacheDir(): string {
  if (process.env.MMIT_CACHE) return process.env.MMIT_CACHE;
  return join(hfHome(), 'mmit');
}

function hfHome(): string {
  return process.env.HF_HOME ?? join(homedir(), '.cache', 'huggingface');
}

export function isRepoId(value: string): boolean {
  return repoIdPattern.test(value) && !value.startsWith('.') && !value.includes('..');
}

function isCompleteFolder(dir: string): boolean {
  if (!existsSync(join(dir, 'config.json'))) return false;
  return existsSync(join(dir, 'model.safetensors')) || existsSync(join(dir, 'model.safetensors.index.json'));
}

/** A snapshot folder that Python's huggingface_hub left in `$HF_HOME/hub`, if any. */
function pythonHubSnapshot(repoId: string, revision: string): string | null {
  const repoDir = join(hfHome(), 'hub', `models--${repoId.replace('/', '--')}`);
  const refFile = join(repoDir, 'refs', revision);
  const commit = existsSync(refFile) ? readFileSync(refFile, 'utf8').trim() : revision;
  const dir = join(repoDir, 'snapshots', commit);
  return isCompleteFolder(dir) ? dir : null;
}

/**
 * Returns a local folder holding `config.json` and the safetensors weights for `idOrPath`,
 * downloading a repo id into the cache when it is not there yet.
 */
export async function resolveCheckpoint(idOrPath: string, options: HubOptions = {}): Promise<string> {
  // One message for "no such folder", "a folder without config.json" and "not a folder": which
  // server folders exist is none of a caller's business.
  const notACheckpoint = () =>
    new CheckpointNotFoundError(
      `${idOrPath} is neither a checkpoint folder (config.json + safetensors) nor a Hugging Face repo id of the form owner/name`,
    );
  if (existsSync(idOrPath) && statSync(idOrPath).isDirectory()) {
    if (!existsSync(join(idOrPath, 'config.json'))) throw notACheckpoint();
    return idOrPath;
  }
  if (!isRepoId(idOrPath)) throw notACheckpoint();
  const revision = options.revision ?? 'main';
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const target = join(cacheDir, 'models', ...idOrPath.split('/'), revision);
  if (isCompleteFolder(target)) return target;
  const snapshot = pythonHubSnapshot(idOrPath, revision);
  if (snapshot) return snapshot;
  const offline = options.offline ?? process.env.HF_HUB_OFFLINE === '1';
  if (offline) {
    throw new CheckpointNotFoundError(
      `${idOrPath} is not in the model cache and offline mode is on (HF_HUB_OFFLINE); ` +
        'download it on a machine with network access or point to a local folder',
    );
  }
  try {
    await downloadCheckpoint(idOrPath, revision, target, options);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CheckpointNotFoundError(
      `${idOrPath} is not a local folder, not in the model cache, and downloading it failed (${reason}); ` +
        'check the network or HF_TOKEN, or pass a local checkpoint folder',
    );
  }
  return target;
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

async function downloadCheckpoint(repoId: string, revision: string, target: string, options: HubOptions) {
  const endpoint = options.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co';
  const token = options.token ?? process.env.HF_TOKEN;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  // Streams the body to `<file>.part`, then renames; returns false for an optional file that is absent.
  const download = async (file: string, required: boolean): Promise<boolean> => {
    const url = `${endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${file}`;
    const response = await fetch(url, { headers, redirect: 'follow' });
    if (response.status === 404 && !required) return false;
    if (!response.ok || !response.body) throw new Error(`GET ${url}: HTTP ${response.status}`);
    const path = join(target, file);
    await mkdir(dirname(path), { recursive: true });
    await pipeline(Readable.fromWeb(response.body as WebReadableStream), createWriteStream(`${path}.part`));
    await rename(`${path}.part`, path);
    return true;
  };
  await mkdir(target, { recursive: true });
  const sharded = await download('model.safetensors.index.json', false);
  const weightFiles: string[] = sharded
    ? [
        ...new Set(
          Object.values(
            JSON.parse(readFileSync(join(target, 'model.safetensors.index.json'), 'utf8'))
              .weight_map as Record<string, string>,
          ),
        ),
      ]
    : ['model.safetensors'];
  for (const file of optionalFiles) await download(file, false);
  for (const file of weightFiles) await download(file, true);
  // config.json last: together with the weights its presence marks the folder complete.
  await download('config.json', true);
}
