// `mmit corpus create|upload|import|show|ls`: the ingest service over HTTP (through the gateway
// by default). Imports show a progress bar fed by the job's server-sent events and end with a
// summary table; uploads and imports list every item that was not accepted, with its reason.
import { openAsBlob } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import type {
  CorpusCounts,
  CorpusManifest,
  ImportSummary,
  ItemOutcome,
  JobRecord,
  Page,
  UploadResponse,
} from '@mmit/contracts';
import type { Command } from 'commander';
import { clientOf } from '../client.js';
import { followJob } from '../job-progress.js';
import { formatTable } from '../table.js';

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

/** The import format a local path suggests, when --format is not given. */
export function guessFormat(path: string, isDirectory: boolean): string | undefined {
  if (isDirectory) return 'folder';
  const name = path.toLowerCase();
  if (name.endsWith('.zip')) return 'zip';
  if (/\.(tar|tgz|tar\.gz)$/.test(name)) return 'tar';
  if (name.endsWith('.jsonl')) return 'jsonl';
  if (name.endsWith('.csv')) return 'csv';
  return undefined;
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

  corpus
    .command('import')
    .description('import a folder or archive (folder, tar, zip, llava-json, coco, webdataset, jsonl, csv)')
    .argument('<id>')
    .argument('<path>', 'an archive to upload, or a folder/file the server reads (--server-path)')
    .option('--format <format>', 'import format (guessed from the path when omitted)')
    .option('--server-path', 'the server reads <path> itself (it must lie under MMIT_INGEST_IMPORT_ROOTS)')
    .option('--media-root <dir>', 'folder, inside the source, that manifest paths are relative to')
    .action(
      async (
        id: string,
        path: string,
        opts: { format?: string; serverPath?: boolean; mediaRoot?: string },
        command: Command,
      ) => {
        const client = clientOf(command);
        const local = await stat(path).catch(() => undefined);
        const isDirectory = local?.isDirectory() ?? false;
        const format = opts.format ?? guessFormat(path, isDirectory);
        if (!format)
          throw new Error(
            `cannot tell the format of ${path}; pass --format (folder, tar, zip, llava-json, coco, webdataset, jsonl, csv)`,
          );
        const options = opts.mediaRoot ? { mediaRoot: opts.mediaRoot } : {};
        let job: JobRecord;
        if (opts.serverPath || isDirectory || !local) {
          job = await client.postJson<JobRecord>(`/v1/corpora/${id}/imports`, {
            format,
            source: { type: 'path', path: resolve(path) },
            options,
          });
        } else {
          const form = new FormData();
          form.append('format', format);
          form.append('options', JSON.stringify(options));
          form.append('archive', await openAsBlob(path), basename(path));
          job = await client.json<JobRecord>(`/v1/corpora/${id}/imports`, { method: 'POST', body: form });
        }
        const finished = await followJob(client, `/v1/jobs/${job.id}`, { label: 'importing', unit: 'items' });
        if (finished.status !== 'succeeded') {
          throw new Error(
            `import ${finished.id} ${finished.status}: ${finished.error?.detail ?? 'no detail'}`,
          );
        }
        const summary = finished.result as ImportSummary;
        console.log(`\nimported ${summary.entries} entries in ${summary.durationSec.toFixed(1)} s`);
        console.log(summaryTable(summary));
        const rejected = notAcceptedTable(summary.notAccepted);
        if (rejected) console.log(`\n${rejected}`);
      },
    );
}
