// The trainer's side of the features service, over HTTP (MMIT_FEATURES_URL): ask for a dataset's
// features with an encoder spec (cached media are hits, so asking again is cheap) and wait for
// the job, reporting its progress so the run's state can say what it waits for. A features service
// that cannot be reached (restarting, or all its replicas busy starting) is waited out like an
// object store outage: calls are retried with growing pauses for up to `patienceMs`, and the
// caller hears about each wait; asking twice is harmless (a second job finds everything cached).
import { setTimeout as sleep } from 'node:timers/promises';
import type { EncoderSpecInput } from '@mmit/features';
import { z } from 'zod';

export const FeaturesJobSchema = z
  .object({
    id: z.string(),
    status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
    progress: z.object({ done: z.number(), total: z.number().nullable() }).passthrough(),
    result: z.object({ encoderKey: z.string() }).passthrough().optional(),
    error: z.object({ detail: z.string() }).passthrough().optional(),
  })
  .passthrough();
export type FeaturesJob = z.infer<typeof FeaturesJobSchema>;

export class FeaturesServiceError extends Error {
  readonly problemCode = 'job_failed';
  override name = 'FeaturesServiceError';
}

export interface FeaturesClientOptions {
  /** How long to keep retrying an unreachable features service (default 5 min). */
  patienceMs?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Told, on each retry, why the service is being waited for. */
  onWaiting?: (why: string) => void | Promise<void>;
}

/** Answers that mean "not now" (a proxy or gateway with no ready replica): worth retrying. */
const RETRYABLE_STATUSES = new Set([502, 503, 504]);

export class FeaturesClient {
  private readonly patienceMs: number;

  constructor(
    readonly baseUrl: string,
    private readonly apiKey?: string,
    options: FeaturesClientOptions = {},
  ) {
    this.patienceMs = options.patienceMs ?? 300_000;
  }

  private async call(path: string, init: RequestInit = {}, options: CallOptions = {}): Promise<FeaturesJob> {
    const url = `${this.baseUrl.replace(/\/$/, '')}${path}`;
    const since = Date.now();
    for (let pause = 500; ; pause = Math.min(10_000, pause * 2)) {
      let why: string;
      try {
        const res = await fetch(url, {
          ...init,
          signal: options.signal,
          headers: {
            'content-type': 'application/json',
            ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
          },
        });
        const text = await res.text();
        if (res.ok) return FeaturesJobSchema.parse(JSON.parse(text));
        if (!RETRYABLE_STATUSES.has(res.status)) {
          throw new FeaturesServiceError(
            `features service answered ${res.status} for ${path}: ${text.slice(0, 500)}`,
          );
        }
        why = `features service answered ${res.status}`;
      } catch (err) {
        if (err instanceof FeaturesServiceError) throw err;
        if (options.signal?.aborted) throw options.signal.reason;
        why = `features service at ${this.baseUrl} is unreachable: ${(err as Error).message}`;
      }
      const waited = Date.now() - since;
      if (waited >= this.patienceMs) {
        throw new FeaturesServiceError(`${why} (waited ${Math.round(waited / 1000)} s)`);
      }
      await options.onWaiting?.(`${why}; trying again (waiting since ${new Date(since).toISOString()})`);
      await sleep(pause, undefined, { signal: options.signal });
    }
  }

  /** Starts (or finds cached) features for every media item of a dataset. */
  requestDataset(
    datasetId: string,
    encoder: EncoderSpecInput,
    options: CallOptions = {},
  ): Promise<FeaturesJob> {
    return this.call(
      '/v1/features/jobs',
      { method: 'POST', body: JSON.stringify({ datasetId, encoder }) },
      options,
    );
  }

  job(id: string, options: CallOptions = {}): Promise<FeaturesJob> {
    return this.call(`/v1/features/jobs/${encodeURIComponent(id)}`, {}, options);
  }

  /** Polls until the job ends; a failed or cancelled job is an error naming it. */
  async waitFor(
    id: string,
    signal: AbortSignal | undefined,
    onUpdate: (job: FeaturesJob) => void | Promise<void>,
    pollMs = 1_000,
    onWaiting?: CallOptions['onWaiting'],
  ): Promise<FeaturesJob> {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const job = await this.job(id, { signal, onWaiting });
      await onUpdate(job);
      if (job.status === 'succeeded') return job;
      if (job.status === 'failed' || job.status === 'cancelled') {
        throw new FeaturesServiceError(
          `features job ${id} ${job.status}: ${job.error?.detail ?? 'no detail'}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
}
