// `mmit train start|watch|ls|show|cancel|resume`: start a projector training run from a spec file
// (YAML or JSON), follow it with a live progress line and loss readout (server-sent events), list
// and show runs, cancel and resume them. When a run ends, `watch` prints its loss curve (train and validation) as a text
// chart. Talks HTTP to the trainer service (through the gateway at --url); payloads are the
// contracts' run spec, state and metrics.
// `mmit train tensorboard <run> --out <dir>` copies a run's TensorBoard event files into
// <dir>/<run>/ (appending to files it copied before, so a TensorBoard reading them follows along).
// Not here: `mmit export <run>` (its own command, see docs/training.md).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type MetricsLine,
  type RunCoverage,
  RunSpecSchema,
  type RunState,
  type StepMetrics,
} from '@mmit/contracts';
import type { Command } from 'commander';
import { clientOf } from '../client.js';
import type { ApiClient } from '../http-client.js';
import { streamBar } from '../job-progress.js';
import { detachOption } from '../options.js';
import { readSpecFile } from '../spec.js';
import { formatTable } from '../table.js';

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/** The loss values as a text chart: `height` rows, one column per bucket of steps; `*` train, `o` validation. */
export function lossChart(
  lines: Pick<MetricsLine, 'type' | 'step' | 'loss'>[],
  width = 60,
  height = 12,
): string {
  const steps = lines.filter((l) => l.type === 'step' && Number.isFinite(l.loss));
  const evals = lines.filter((l) => l.type === 'eval' && Number.isFinite(l.loss));
  if (steps.length === 0) return '(no steps yet)';
  const all = [...steps, ...evals].map((l) => l.loss);
  const [low, high] = [Math.min(...all), Math.max(...all)];
  const lastStep = Math.max(...steps.map((s) => s.step), 1);
  const columns = Math.min(width, lastStep);
  const grid = Array.from({ length: height }, () => Array<string>(columns).fill(' '));
  const place = (step: number, loss: number, mark: string) => {
    const x = Math.min(columns - 1, Math.floor(((step - 1) / lastStep) * columns));
    const y = high === low ? 0 : Math.round(((high - loss) / (high - low)) * (height - 1));
    if (grid[y][Math.max(0, x)] !== 'o') grid[y][Math.max(0, x)] = mark;
  };
  for (const s of steps) place(s.step, s.loss, '*');
  for (const e of evals) place(Math.max(1, e.step), e.loss, 'o');
  const label = (v: number) => v.toFixed(3).padStart(8);
  const rows = grid.map((row, y) => {
    const tick = y === 0 ? label(high) : y === height - 1 ? label(low) : ' '.repeat(8);
    return `${tick} |${row.join('')}`;
  });
  return [
    ...rows,
    `${' '.repeat(8)} +${'-'.repeat(columns)}`,
    `${' '.repeat(10)}step 1 .. ${lastStep}   * train loss   o validation loss`,
  ].join('\n');
}

/** What a run trains on, one line per modality, and a WARNING line per reason samples are left out. */
export function formatCoverage(id: string, coverage: RunCoverage): string {
  const { encoder } = coverage;
  const lines = [
    `run ${id} trains on ${coverage.usable} of ${coverage.samples} samples` +
      (encoder.key || encoder.modality
        ? ` (encoder ${encoder.key ?? '(from encoder.spec)'} reads ${encoder.modality ?? 'an unknown modality'})`
        : ''),
  ];
  for (const [modality, m] of Object.entries(coverage.modalities)) {
    lines.push(
      `  ${modality.padEnd(8)}${String(m.samples).padStart(7)} samples (${m.train} train, ${m.validation} validation) -> ${m.encoder ?? (encoder.modality && modality !== encoder.modality ? 'NO ENCODER' : 'the encoder')}`,
    );
  }
  for (const drop of coverage.drops)
    lines.push(`  WARNING: ${drop.samples} samples left out: ${drop.reason}`);
  return lines.join('\n');
}

/**
 * Follows a run's events to its end with a progress bar on stderr (`bar: false`: none); then the
 * loss chart and the outcome go to `print` (default stdout).
 */
export async function watchRun(
  client: ApiClient,
  id: string,
  options: { print?: (text: string) => void; bar?: boolean } = {},
): Promise<RunState> {
  const print = options.print ?? ((text: string) => console.log(text));
  const bar = streamBar({ label: 'training', unit: 'steps' }, options.bar !== false);
  let state: RunState | undefined;
  // The coverage is told when the run is created and again when it starts (with features known).
  let told = '';
  let last: StepMetrics | undefined;
  let val: number | undefined;
  for await (const { event, data } of client.events(`/v1/runs/${id}/events`)) {
    if (event === 'state') {
      state = data as RunState;
      if (state.lastEval) val = state.lastEval.loss;
      const coverage = state.coverage ? formatCoverage(id, state.coverage) : '';
      if (coverage && coverage !== told) {
        told = coverage;
        print(coverage);
      }
    } else if (event === 'step') last = data as StepMetrics;
    else if (event === 'eval') val = (data as { loss: number }).loss;
    const detail = [
      state?.status ?? 'queued',
      last && `loss ${last.loss.toFixed(4)}`,
      val !== undefined && `val ${val.toFixed(4)}`,
      last && `lr ${last.lr.toExponential(2)}`,
      last && `${last.samplesPerSec.toFixed(1)} samples/s`,
      last && `${last.tokensPerSec.toFixed(0)} tok/s`,
    ];
    bar.update({
      done: event === 'step' ? (data as StepMetrics).step : (state?.step ?? 0),
      total: state?.totalSteps ?? null,
      etaSec: last?.etaSec ?? null,
      detail: detail.filter(Boolean).join(' | '),
    });
  }
  bar.stop();
  const final = await client.json<RunState>(`/v1/runs/${id}`);
  const { items } = await client.json<{ items: MetricsLine[] }>(`/v1/runs/${id}/metrics`);
  print(lossChart(items));
  print(
    final.status === 'failed'
      ? `run ${id} failed: ${final.error?.detail ?? final.message ?? 'no detail'}`
      : `run ${id} ${final.status} at step ${final.step}${final.lastCheckpoint ? `; weights in ${final.lastCheckpoint.prefix}weights.safetensors` : ''}`,
  );
  if (final.status !== 'succeeded') process.exitCode = 1;
  return final;
}

interface EventFileInfo {
  name: string;
  size: number;
}

/**
 * Copies a run's event files into `dir` once. A file already there that the stored one extends is
 * appended to, not rewritten: TensorBoard keeps event files open and reads on from where it was.
 * Returns the files and bytes copied.
 */
export async function syncEventFiles(
  client: ApiClient,
  id: string,
  dir: string,
): Promise<{ files: number; bytes: number; total: number }> {
  const { items } = await client.json<{ items: EventFileInfo[] }>(`/v1/runs/${id}/tensorboard`);
  mkdirSync(dir, { recursive: true });
  let [files, bytes] = [0, 0];
  for (const file of items) {
    const local = join(dir, file.name);
    const have = existsSync(local) ? readFileSync(local) : undefined;
    if (have?.length === file.size) continue;
    const res = await client.request(`/v1/runs/${id}/tensorboard/${encodeURIComponent(file.name)}`);
    const body = Buffer.from(await res.arrayBuffer());
    if (have && have.length < body.length && body.subarray(0, have.length).equals(have)) {
      await appendFile(local, body.subarray(have.length));
      bytes += body.length - have.length;
    } else {
      writeFileSync(local, body);
      bytes += body.length;
    }
    files += 1;
  }
  return { files, bytes, total: items.length };
}

export function registerTrainCommands(program: Command): void {
  const train = program
    .command('train')
    .description('train projectors (LLaVA stage 1, projector SFT, LoRA) and follow runs');

  const start = train
    .command('start')
    .description('start a run from a YAML or JSON spec (see docs/training.md); follows it unless --detach')
    .argument('<spec>', 'spec file (YAML or JSON), or - for stdin')
    .option('--dataset <id>', 'override datasetId')
    .option('--steps <n>', 'override steps', Number)
    .option('--epochs <n>', 'override epochs', Number)
    .option('--lr <lr>', 'override optimizer.lr', Number)
    .option('--name <name>', 'run name');
  detachOption(start, 'print the run id and return').action(
    async (path: string, options: Record<string, unknown>, command: Command) => {
      const client = clientOf(command);
      const file = readSpecFile(path);
      const spec = file.value;
      if (options.dataset) spec.datasetId = options.dataset;
      if (options.steps !== undefined) {
        spec.steps = options.steps;
        delete spec.epochs;
      }
      if (options.epochs !== undefined) {
        spec.epochs = options.epochs;
        delete spec.steps;
      }
      if (options.lr !== undefined)
        spec.optimizer = { ...((spec.optimizer as object) ?? {}), lr: options.lr };
      if (options.name) spec.name = options.name;
      const state = await client.postJson<RunState>('/v1/runs', spec, {
        kind: 'spec',
        spec: file,
        schema: RunSpecSchema,
      });
      console.log(`run ${state.id} queued`);
      if (!options.detach) await watchRun(client, state.id);
    },
  );

  train
    .command('tensorboard')
    .description("copy a run's TensorBoard event files to <out>/<run>/ (then: tensorboard --logdir <out>)")
    .argument('<run>', 'run id')
    .requiredOption('--out <dir>', 'folder for TensorBoard (several runs can share it)')
    .option('--follow', 'keep copying new events until the run ends')
    .option('--interval <seconds>', 'how often --follow copies', Number, 10)
    .action(
      async (id: string, options: { out: string; follow?: boolean; interval: number }, command: Command) => {
        const client = clientOf(command);
        const dir = join(options.out, id);
        for (;;) {
          const state = await client.json<RunState>(`/v1/runs/${id}`);
          const synced = await syncEventFiles(client, id, dir);
          console.log(
            `${dir}: ${synced.total} event files, ${synced.files} updated (${synced.bytes} bytes); run ${state.status} at step ${state.step}`,
          );
          if (!options.follow || TERMINAL.includes(state.status)) break;
          await sleep(Math.max(1, options.interval) * 1000);
        }
        console.log(`open with: tensorboard --logdir ${options.out}`);
      },
    );

  train
    .command('watch')
    .description("follow a run's progress and loss until it ends, then print its loss curve")
    .argument('<run>', 'run id')
    .action(async (id: string, _options: unknown, command: Command) => {
      await watchRun(clientOf(command), id);
    });

  train
    .command('ls')
    .description('list runs, newest first')
    .action(async (_options: unknown, command: Command) => {
      const { items } = await clientOf(command).json<{ items: RunState[] }>('/v1/runs');
      if (items.length === 0) {
        console.log('no runs yet (mmit train start <spec>)');
        return;
      }
      console.log(
        formatTable(
          ['id', 'name', 'status', 'step', 'loss', 'val loss', 'created'],
          items.map((r) => [
            r.id,
            r.name ?? '',
            r.status,
            `${r.step}/${r.totalSteps ?? '?'}`,
            r.latest ? r.latest.loss.toFixed(4) : '-',
            r.lastEval ? r.lastEval.loss.toFixed(4) : '-',
            r.createdAt,
          ]),
        ),
      );
    });

  train
    .command('show')
    .description("a run's status, progress, latest loss and checkpoint")
    .argument('<run>', 'run id')
    .option('--json', 'print the run state as JSON')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const r = await clientOf(command).json<RunState>(`/v1/runs/${encodeURIComponent(id)}`);
      if (options.json) {
        console.log(JSON.stringify(r, null, 2));
        return;
      }
      const lines = [
        `run ${r.id}${r.name ? ` (${r.name})` : ''}: ${r.status}, step ${r.step}/${r.totalSteps ?? '?'}`,
        r.latest
          ? `  loss ${r.latest.loss.toFixed(4)}` +
            (r.lastEval ? `, validation loss ${r.lastEval.loss.toFixed(4)}` : '')
          : undefined,
        r.lastCheckpoint ? `  weights: ${r.lastCheckpoint.prefix}weights.safetensors` : undefined,
        r.error ? `  error: ${r.error.detail}` : r.message ? `  ${r.message}` : undefined,
        `  created ${r.createdAt}`,
      ];
      console.log(lines.filter(Boolean).join('\n'));
    });

  train
    .command('cancel')
    .description('cancel a run (its checkpoints stay; resume continues from the last)')
    .argument('<run>', 'run id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const state = await clientOf(command).postJson<RunState>(`/v1/runs/${id}/cancel`, {});
      console.log(
        `run ${id}: ${state.status}${TERMINAL.includes(state.status) ? '' : ' (stops before its next step)'}`,
      );
    });

  const resume = train
    .command('resume')
    .description('resume a cancelled or failed run from its last checkpoint')
    .argument('<run>', 'run id');
  detachOption(resume, 'return without following the run').action(
    async (id: string, options: { detach?: boolean }, command: Command) => {
      const client = clientOf(command);
      const state = await client.postJson<RunState>(`/v1/runs/${id}/resume`, {});
      console.log(`run ${id}: ${state.status}${state.message ? ` (${state.message})` : ''}`);
      if (!options.detach) await watchRun(client, id);
    },
  );
}
