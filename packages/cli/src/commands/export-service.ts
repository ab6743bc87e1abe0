// `mmit export` through the stack (the default): asks the trainer service (through the gateway at
// --url / MMIT_URL) for an export, follows its job to the end, then downloads its files into a
// staging folder beside --out that is moved into place only when every file is there and matches
// the manifest's size and sha256, so a failure or Ctrl-C leaves no folder. Files are immutable
// once written, so a download that breaks off resumes the file from where it stopped (Range),
// a few times, before giving up.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import type { ExportFile, ExportRequestInput, RunExport } from '@mmit/contracts';
import {
  checkExportOutDir,
  ExportError,
  LORA_ADAPTER_DIR,
  setAdapterBase,
  writeExportFolderAsync,
} from '@mmit/export';
import type { ApiClient } from '../http-client.js';
import { streamBar } from '../job-progress.js';

/** Tries per file: the first request, then resumes from the bytes already written. */
const FILE_ATTEMPTS = 5;

export interface ServiceExportOptions {
  runId: string;
  out: string;
  request: ExportRequestInput;
  /** An export made before (its id): download it instead of asking for a new one. */
  exportId?: string;
  force: boolean;
  bar: boolean;
  /** Aborts the download (Ctrl-C): the staging folder is removed. */
  signal?: AbortSignal;
  log: (line: string) => void;
}

export interface ServiceExportResult {
  export: RunExport;
  files: number;
  bytes: number;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

export async function exportThroughService(
  client: ApiClient,
  options: ServiceExportOptions,
): Promise<ServiceExportResult> {
  const { runId, log } = options;
  // The folder is checked before the service does any work for us.
  checkExportOutDir(resolve(options.out), options.force);
  const base = `/v1/runs/${encodeURIComponent(runId)}/exports`;
  let found: RunExport;
  if (options.exportId) {
    found = await client.json<RunExport>(`${base}/${encodeURIComponent(options.exportId)}`);
  } else {
    found = await client.postJson<RunExport>(base, options.request);
    log(`export ${found.id} queued (mmit export ${runId} --export ${found.id} downloads it again)`);
  }
  const path = `${base}/${found.id}`;
  if (found.status !== 'succeeded') found = await follow(client, path, options);
  if (found.status !== 'succeeded' || !found.manifest) {
    const why = found.error?.detail ?? found.progress.message ?? found.status;
    throw new ExportError('conflict', `export ${found.id} ${found.status}: ${why}`);
  }
  const manifest = found.manifest;
  log(`downloading ${manifest.files.length} files (${mb(manifest.totalBytes)} MB) into ${options.out}`);
  const bar = streamBar({ label: 'downloading', unit: 'MB' }, options.bar);
  let done = 0;
  try {
    await writeExportFolderAsync(options.out, options.force, async (staging) => {
      for (const file of manifest.files) {
        await downloadFile(
          client,
          `${path}/file?path=${encodeURIComponent(file.path)}`,
          join(staging, file.path),
          file,
          {
            signal: options.signal,
            onBytes: (n) => {
              done += n;
              bar.update({
                done: Number(mb(done)),
                total: Number(mb(manifest.totalBytes)),
                detail: file.path,
              });
            },
          },
        );
      }
      // The service's folder names no adapter base: its final place is here (as a direct export would write).
      if (manifest.hf?.adapterDir && !manifest.hf.loraMerged) {
        setAdapterBase(
          join(staging, manifest.hf.dir, LORA_ADAPTER_DIR),
          resolve(options.out, manifest.hf.dir),
        );
      }
    });
  } finally {
    bar.stop();
  }
  return { export: found, files: manifest.files.length, bytes: manifest.totalBytes };
}

/** Follows the export's events (a bar of bytes written into the bucket) until it ends; returns it as it ended. */
async function follow(client: ApiClient, path: string, options: ServiceExportOptions): Promise<RunExport> {
  const bar = streamBar({ label: 'exporting', unit: 'MB' }, options.bar);
  let last = '';
  try {
    for await (const { event, data } of client.events(`${path}/events`, options.signal)) {
      if (event !== 'export') continue;
      const { progress } = data as RunExport;
      // Before the upload starts the total is unknown: the message says what the exporter does.
      if (!options.bar && progress.message && progress.message !== last) options.log(`  ${progress.message}`);
      last = progress.message ?? last;
      // Counted in bytes written into the bucket; shown in MB.
      bar.update({
        done: Number(mb(progress.done)),
        total: progress.total === null ? null : Number(mb(progress.total)),
        ...(progress.message ? { detail: progress.message } : {}),
      });
    }
  } finally {
    bar.stop();
  }
  // The stream also ends when the connection drops: the export's own record says how it ended.
  return client.json<RunExport>(path);
}

/**
 * Downloads one file to `target`, resuming with a byte range after a broken transfer, and checks
 * its size and sha256 against the manifest (an ExportError when they differ).
 */
async function downloadFile(
  client: ApiClient,
  url: string,
  target: string,
  file: ExportFile,
  control: { signal?: AbortSignal; onBytes: (n: number) => void },
): Promise<void> {
  mkdirSync(dirname(target), { recursive: true });
  let lastError: unknown;
  for (let attempt = 1; attempt <= FILE_ATTEMPTS; attempt++) {
    control.signal?.throwIfAborted();
    const have = existsSync(target) ? statSync(target).size : 0;
    if (have === file.size) break;
    try {
      const res = await client.request(url, {
        headers: have > 0 ? { range: `bytes=${have}-` } : {},
        ...(control.signal ? { signal: control.signal } : {}),
      });
      // A server that ignored the range sends the whole file: start the file over.
      const append = have > 0 && res.status === 206;
      if (have > 0 && !append) control.onBytes(-have);
      const sink = createWriteStream(target, { flags: append ? 'a' : 'w' });
      try {
        if (res.body) {
          for await (const chunk of res.body) {
            if (!sink.write(chunk)) await new Promise<void>((r) => sink.once('drain', () => r()));
            control.onBytes(chunk.byteLength);
          }
        }
      } finally {
        sink.end();
        await finished(sink);
      }
      lastError = undefined;
      break;
    } catch (err) {
      if (control.signal?.aborted) throw control.signal.reason;
      // An error answer (a problem+json) will not change on a retry; a broken transfer may.
      if ((err as { status?: number }).status !== undefined && (err as { status: number }).status > 0)
        throw err;
      lastError = err;
    }
  }
  if (lastError) throw lastError;
  const size = existsSync(target) ? statSync(target).size : 0;
  if (size !== file.size) {
    throw new ExportError(
      'conflict',
      `${file.path}: downloaded ${size} bytes, the manifest says ${file.size}`,
    );
  }
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(target)) hash.update(chunk as Buffer);
  const sha256 = hash.digest('hex');
  if (sha256 !== file.sha256) {
    throw new ExportError(
      'conflict',
      `${file.path}: sha256 ${sha256} differs from the manifest's ${file.sha256}`,
    );
  }
}
