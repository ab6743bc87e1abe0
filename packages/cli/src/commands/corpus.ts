// `mmit corpus create|upload|import|show|ls`: the ingest service over HTTP (through the gateway
// by default). `import` sends a local folder, archive or file through the resumable upload
// (upload.ts) unless --server-path asks the server to read a path of its own. Imports show a
// progress bar fed by the job's server-sent events and end with a summary table; uploads and
// imports list every item that was not accepted, with its reason.
import { openAsBlob } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import type {
  CorpusCounts,
  CorpusManifest,
  ImportSummary,
  ItemOutcome,
  JobRecord,
  Page,
  UploadResponse,
  UploadSession,
} from '@mmit/contracts';
import type { Command } from 'commander';
import { clientOf } from '../client.js';
import type { ApiClient } from '../http-client.js';
import { followJob, streamBar } from '../job-progress.js';
import { detachOption } from '../options.js';
import { formatTable } from '../table.js';
import { formatBytes, localSource, uploadSource } from '../upload.js';

/** The summary table printed after uploads and imports. */
export function summaryTable(
  counts: Pick<CorpusCounts, 'accepted' | 'duplicate' | 'nearDuplicate' | 'rejected' | 'rejectedByReason'>,
): string {
  const rows: (string | number)[][] = [
    ['accepted', counts.accepted],
    ['  of which near-duplicate', counts.nearDuplicate],
    ['duplicate', counts.duplicate],
    ['rejected', counts.rejected],
    ...Object.entries(counts.rejectedByReason).map(([reason, n]) => [`  ${reason}`, n ?? 0]),
  ];
  return formatTable(['outcome', 'items'], rows);
}

function notAcceptedTable(outcomes: ItemOutcome[]): string {
  const rows = outcomes
    .filter((o) => o.status !== 'accepted')
    .map((o) => [
      o.source,
      o.status,
      o.error ? `${o.error.type}: ${o.error.detail}` : o.duplicateOf ? `same bytes as ${o.duplicateOf}` : '',
    ]);
  return rows.length === 0 ? '' : formatTable(['source', 'status', 'reason'], rows);
}

const ARCHIVE = /\.(zip|tar|tgz|tar\.gz)$/i;

/** A folder's own names and those of its split or data subfolders (for guessing its format). */
async function namesIn(folder: string): Promise<string[]> {
  const names = await readdir(folder).catch(() => [] as string[]);
  const nested = await Promise.all(
    names
      .filter((n) => /^(data|train|training|validation|valid|val|dev|test|testing)$/i.test(n))
      .map(async (n) => (await readdir(join(folder, n)).catch(() => [] as string[])).map((m) => `${n}/${m}`)),
  );
  return [...names, ...nested.flat()];
}

/** The import format a local path suggests, when --format is not given. */
export async function guessFormat(path: string, isDirectory: boolean): Promise<string | undefined> {
  if (isDirectory) {
    const names = (await namesIn(path)).map((n) => basename(n));
    if (names.includes('metadata.jsonl') || names.includes('metadata.csv')) return 'hf-folder';
    if (names.some((n) => n.endsWith('.parquet'))) return 'parquet';
    return 'folder';
  }
  const name = path.toLowerCase();
  if (name.endsWith('.zip')) return 'zip';
  if (/\.(tar|tgz|tar\.gz)$/.test(name)) return 'tar';
  if (name.endsWith('.jsonl')) return basename(name) === 'metadata.jsonl' ? 'hf-folder' : 'jsonl';
  if (name.endsWith('.csv')) return basename(name) === 'metadata.csv' ? 'hf-folder' : 'csv';
  if (name.endsWith('.parquet')) return 'parquet';
  return undefined;
}

const FORMATS = 'folder, tar, zip, llava-json, coco, webdataset, jsonl, csv, hf-folder, parquet';

/** Uploads a local source with a progress bar on stderr; returns the upload's key. */
async function uploadWithProgress(client: ApiClient, path: string): Promise<string> {
  const source = await localSource(path, ARCHIVE.test(path));
  // Counted in MB, or in kB for an upload under a megabyte (0.0 of 0.0 MB says nothing).
  let bar: ReturnType<typeof streamBar> | undefined;
  let upload: UploadSession;
  try {
    upload = await uploadSource(client, source, (p) => {
      const [unit, scale] = p.total < 1e6 ? (['kB', 1e3] as const) : (['MB', 1e6] as const);
      bar ??= streamBar({ label: 'uploading', unit });
      bar.update({
        done: Number((p.done / scale).toFixed(1)),
        total: Number((p.total / scale).toFixed(1)),
        ...(p.resumed > 0 ? { detail: `${formatBytes(p.resumed)} already there` } : {}),
      });
    });
  } finally {
    bar?.stop();
  }
  console.error(
    `uploaded ${source.filename} (${formatBytes(upload.size ?? 0)}, ${upload.parts.length} part(s)) as ${upload.id}`,
  );
  return upload.key;
}

export function registerCorpusCommands(program: Command): void {
  const corpus = program.command('corpus').description('create corpora and add images/audio with captions');

  corpus
    .command('create')
    .description('create a corpus and print its id')
    .argument('<name>')
    .option('--description <text>', 'what the corpus holds', '')
    .option('--max-side <px>', 'longest side of stored images', (v) => Number.parseInt(v, 10))
    .option('--no-originals', 'do not keep the original bytes')
    .action(
      async (
        name: string,
        opts: { description: string; maxSide?: number; originals: boolean },
        command: Command,
      ) => {
        const manifest = await clientOf(command).postJson<CorpusManifest>('/v1/corpora', {
          name,
          description: opts.description,
          options: { ...(opts.maxSide ? { maxSide: opts.maxSide } : {}), keepOriginals: opts.originals },
        });
        console.log(manifest.id);
      },
    );

  corpus
    .command('ls')
    .description('list corpora with their counts')
    .action(async (_opts: unknown, command: Command) => {
      const client = clientOf(command);
      const rows: (string | number)[][] = [];
      let cursor: string | null = null;
      do {
        const page: Page<CorpusManifest> = await client.json(
          `/v1/corpora?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        );
        for (const c of page.items)
          rows.push([c.id, c.name, c.counts.accepted, c.counts.duplicate, c.counts.rejected]);
        cursor = page.nextCursor;
      } while (cursor);
      console.log(
        rows.length === 0
          ? 'no corpora yet (mmit corpus create <name>)'
          : formatTable(['id', 'name', 'accepted', 'duplicate', 'rejected'], rows),
      );
    });

  corpus
    .command('show')
    .description('show a corpus manifest and its counts')
    .argument('<id>')
    .option('--json', 'print the manifest as JSON')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const manifest = await clientOf(command).json<CorpusManifest>(`/v1/corpora/${id}`);
      if (opts.json) {
        console.log(JSON.stringify(manifest, null, 2));
        return;
      }
      console.log(
        `${manifest.id}  ${manifest.name}  (${manifest.counts.images} images, ${manifest.counts.audio} audio)`,
      );
      console.log(summaryTable(manifest.counts));
    });

  corpus
    .command('upload')
    .description('upload files; captions from --caption, else from a sidecar <file>.txt beside each file')
    .argument('<id>')
    .argument('<files...>')
    .option('--caption <text...>', 'caption(s) for every file')
    .action(async (id: string, files: string[], opts: { caption?: string[] }, command: Command) => {
      const form = new FormData();
      const captions: Record<string, string[]> = {};
      for (const file of files) {
        const sidecar = `${file.slice(0, file.length - extname(file).length)}.txt`;
        captions[basename(file)] =
          opts.caption ??
          (await readFile(sidecar, 'utf8').then(
            (t) => t.split(/\r?\n/).filter((l) => l.trim()),
            () => [],
          ));
      }
      form.append('captions', JSON.stringify(captions));
      for (const file of files) form.append('file', await openAsBlob(file), basename(file));
      const result = await clientOf(command).json<UploadResponse>(`/v1/corpora/${id}/items`, {
        method: 'POST',
        body: form,
      });
      console.log(summaryTable(result.counts));
      const rejected = notAcceptedTable(result.outcomes);
      if (rejected) console.log(`\n${rejected}`);
    });

  const importCommand = corpus
    .command('import')
    .description(`import a folder, archive or file from this machine (${FORMATS})`)
    .argument('<id>')
    .argument(
      '<path>',
      'a folder, archive or manifest/Parquet file here (uploaded, resumably), or a path on the server (--server-path)',
    )
    .option('--format <format>', 'import format (guessed from the path when omitted)')
    .option(
      '--server-path',
      'the server reads <path> itself (it must lie under MMIT_INGEST_IMPORT_ROOTS); nothing is uploaded',
    )
    .option('--media-root <dir>', 'folder, inside the source, that manifest paths are relative to')
    .option(
      '--caption-column <name...>',
      'hf-folder, parquet: the caption column(s) (default: text, caption, ...)',
    )
    .option('--media-column <name>', 'parquet: the image/audio column (hf-folder: the file column)');
  detachOption(importCommand, 'upload, start the import job, print its id and return').action(
    async (
      id: string,
      path: string,
      opts: {
        format?: string;
        serverPath?: boolean;
        mediaRoot?: string;
        captionColumn?: string[];
        mediaColumn?: string;
        detach?: boolean;
      },
      command: Command,
    ) => {
      const client = clientOf(command);
      // With --server-path the path is the server's; a same-named one here only helps guess the format.
      const local = await stat(path).catch(() => undefined);
      if (!opts.serverPath && !local) {
        throw new Error(`${path} does not exist here; to import a path on the server, add --server-path`);
      }
      const format = opts.format ?? (await guessFormat(path, local?.isDirectory() ?? false));
      if (!format) throw new Error(`cannot tell the format of ${path}; pass --format (${FORMATS})`);
      const columns = {
        ...(opts.captionColumn ? { captions: opts.captionColumn } : {}),
        ...(opts.mediaColumn ? { media: opts.mediaColumn } : {}),
      };
      const options = {
        ...(opts.mediaRoot ? { mediaRoot: opts.mediaRoot } : {}),
        ...(Object.keys(columns).length > 0 ? { columns } : {}),
      };
      const source = opts.serverPath
        ? { type: 'path', path: resolve(path) }
        : { type: 'upload', key: await uploadWithProgress(client, path) };
      const job = await client.postJson<JobRecord>(`/v1/corpora/${id}/imports`, {
        format,
        source,
        options,
      });
      if (opts.detach) {
        console.log(`import job ${job.id} (mmit corpus show ${id} when it is done)`);
        return;
      }
      const finished = await followJob(client, `/v1/jobs/${job.id}`, { label: 'importing', unit: 'items' });
      if (finished.status !== 'succeeded') {
        throw new Error(`import ${finished.id} ${finished.status}: ${finished.error?.detail ?? 'no detail'}`);
      }
      const summary = finished.result as ImportSummary;
      console.log(`\nimported ${summary.entries} entries in ${summary.durationSec.toFixed(1)} s`);
      console.log(summaryTable(summary));
      const rejected = notAcceptedTable(summary.notAccepted);
      if (rejected) console.log(`\n${rejected}`);
    },
  );
}
