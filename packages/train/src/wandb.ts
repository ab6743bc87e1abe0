// An optional Weights & Biases logger over W&B's HTTP API (no SDK: @wandb/sdk is beta): the
// GraphQL `upsertBucket` mutation creates (or, on a resume, finds) the run with its config, and
// the file_stream endpoint (POST {base}/files/<entity>/<project>/<run>/file_stream, basic auth
// `api:<key>`) takes `wandb-history.jsonl` lines at an offset (the line count, which upsertBucket's
// `historyLineCount` gives a resumed run), `wandb-summary.json` whole, and `{complete, exitcode}`
// at the end. The rows are the TensorBoard tags (tracking.ts' scalarsOf) plus `_step`/`_timestamp`.
// Tracking must never fail a training run: every call is caught, logged as a warning once per
// failure streak, and retried with a doubling delay; rows wait (the oldest dropped past a cap).
import type { MetricsLine, RunSpec } from '@mmit/contracts';
import { z } from 'zod';
import { scalarsOf } from './tracking.js';

export interface WandbOptions {
  apiKey: string;
  project: string;
  /** Default: the key's default entity (upsertBucket answers which). */
  entity?: string;
  /** Default https://api.wandb.ai (a W&B server's URL when self-hosted). */
  baseUrl?: string;
  /** How often queued rows are sent (W&B's own client sends every few seconds). */
  flushMs?: number;
  /** Longest wait between retries after failures. */
  maxBackoffMs?: number;
  /** Rows kept while W&B cannot be reached; older ones are dropped (and counted in a warning). */
  maxQueuedRows?: number;
}

export interface WandbWarn {
  warn(fields: object, message: string): void;
}

const UpsertReplySchema = z.object({
  data: z.object({
    upsertBucket: z.object({
      bucket: z.object({
        name: z.string(),
        historyLineCount: z.number().int().nonnegative().nullish(),
        project: z.object({ name: z.string(), entity: z.object({ name: z.string() }) }),
      }),
    }),
  }),
});

const UPSERT_BUCKET = `mutation UpsertBucket($name: String, $project: String, $entity: String, $displayName: String, $config: JSONString) {
  upsertBucket(input: { name: $name, modelName: $project, entityName: $entity, displayName: $displayName, config: $config }) {
    bucket { name historyLineCount project { name entity { name } } }
  }
}`;

/** W&B run names allow letters, digits, `-` and `_`; our ids are Crockford base32 and fit. */
export function wandbRunName(runId: string): string {
  return runId.toLowerCase().replace(/[^a-z0-9_-]/g, '-');
}

/** The spec as W&B config: every leaf under its dotted path, `{value}` as the API wants it. */
function configOf(spec: RunSpec, extra: Record<string, unknown>): string {
  const config: Record<string, { value: unknown }> = {};
  for (const [k, v] of Object.entries({ ...spec, ...extra })) config[k] = { value: v };
  return JSON.stringify(config);
}

export class WandbLogger {
  private readonly baseUrl: string;
  private readonly auth: string;
  private rows: string[] = [];
  private summary: Record<string, number> = {};
  private offset = 0;
  private stream: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  private failures = 0;
  private retryAt = 0;
  private dropped = 0;
  /** Creates (or finds) the W&B run; retried at flushes until it works. */
  private create: (() => Promise<void>) | undefined;

  constructor(
    private readonly options: WandbOptions,
    private readonly warnings: WandbWarn,
  ) {
    this.baseUrl = (options.baseUrl ?? 'https://api.wandb.ai').replace(/\/$/, '');
    this.auth = `Basic ${Buffer.from(`api:${options.apiKey}`).toString('base64')}`;
  }

  /** Creates or finds the run (with its config) and starts sending rows every flushMs. */
  start(run: { runId: string; name?: string; spec: RunSpec; attempt: number }): void {
    this.timer = setInterval(() => void this.flush(), this.options.flushMs ?? 5_000);
    this.timer.unref();
    this.create = async () => {
      const reply = await this.post('/graphql', {
        query: UPSERT_BUCKET,
        variables: {
          name: wandbRunName(run.runId),
          project: this.options.project,
          entity: this.options.entity ?? null,
          displayName: run.name ?? run.runId,
          config: configOf(run.spec, { mmitRunId: run.runId, attempt: run.attempt }),
        },
      });
      const { bucket } = UpsertReplySchema.parse(reply).data.upsertBucket;
      // A resumed run continues the history where W&B has it (its offset is a line number).
      this.offset = bucket.historyLineCount ?? 0;
      this.stream = `/files/${encodeURIComponent(bucket.project.entity.name)}/${encodeURIComponent(bucket.project.name)}/${encodeURIComponent(bucket.name)}/file_stream`;
    };
    this.sending = this.attempt('create the run', this.create);
  }

  /** Queues a metrics line (it is sent at the next flush). */
  log(line: MetricsLine): void {
    const scalars = scalarsOf(line);
    Object.assign(this.summary, scalars);
    this.rows.push(
      JSON.stringify({ ...scalars, _step: line.step, _timestamp: Date.parse(line.time) / 1000 }),
    );
    const cap = this.options.maxQueuedRows ?? 100_000;
    if (this.rows.length > cap) {
      this.dropped += this.rows.length - cap;
      this.rows.splice(0, this.rows.length - cap);
    }
  }

  /** Sends the queued rows (once the run exists and no back-off is pending); never throws. */
  flush(): Promise<void> {
    this.sending = this.sending.then(async () => {
      if (Date.now() < this.retryAt) return;
      if (!this.stream && this.create) await this.attempt('create the run', this.create);
      if (!this.stream || this.rows.length === 0) return;
      const rows = this.rows.slice();
      return this.attempt('send metrics', async () => {
        await this.post(this.stream as string, {
          files: {
            'wandb-history.jsonl': { offset: this.offset, content: rows },
            'wandb-summary.json': { offset: 0, content: [JSON.stringify(this.summary)] },
          },
        });
        this.offset += rows.length;
        this.rows.splice(0, rows.length);
      });
    });
    return this.sending;
  }

  /**
   * Sends what is left and, given an exit code (0: succeeded), marks the run finished; without one
   * (an attempt interrupted, to be resumed) the run stays open. Gives up quietly.
   */
  async finish(exitcode?: number): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.retryAt = 0;
    await this.flush();
    if (this.stream && exitcode !== undefined) {
      const stream = this.stream;
      await this.attempt('finish the run', () =>
        this.post(stream, { complete: true, exitcode }).then(() => {}),
      );
    }
    if (this.dropped > 0 || this.rows.length > 0)
      this.warnings.warn(
        { dropped: this.dropped, unsent: this.rows.length },
        'W&B did not get every metrics row (it could not be reached)',
      );
  }

  private async attempt(what: string, call: () => Promise<void>): Promise<void> {
    try {
      await call();
      this.failures = 0;
    } catch (err) {
      this.failures += 1;
      const delay = Math.min(this.options.maxBackoffMs ?? 300_000, 1_000 * 2 ** (this.failures - 1));
      this.retryAt = Date.now() + delay;
      // One warning per failure streak (and then every tenth), not one per flush.
      if (this.failures === 1 || this.failures % 10 === 0)
        this.warnings.warn(
          { err: (err as Error).message, failures: this.failures, retryInMs: delay },
          `W&B: could not ${what}; training goes on`,
        );
    }
  }

  private async post(path: string, body: unknown): Promise<unknown> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: this.auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${path} answered ${res.status}: ${text.slice(0, 200)}`);
    const json = text ? (JSON.parse(text) as { errors?: { message: string }[] }) : {};
    if (json.errors?.length) throw new Error(`${path}: ${json.errors.map((e) => e.message).join('; ')}`);
    return json;
  }
}
