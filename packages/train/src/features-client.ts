// The trainer's side of the features service, over HTTP (MMIT_FEATURES_URL): ask for a dataset's
// features with an encoder spec (cached media are hits, so asking again is cheap) and wait for
// the job, reporting its progress so the run's state can say what it waits for.
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

export class FeaturesClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey?: string,
  ) {}

  private async call(path: string, init: RequestInit = {}): Promise<FeaturesJob> {
    const url = `${this.baseUrl.replace(/\/$/, '')}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        ...init,
        headers: {
          'content-type': 'application/json',
          ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
        },
      });
    } catch (err) {
      throw new FeaturesServiceError(
        `features service at ${this.baseUrl} is unreachable: ${(err as Error).message}`,
      );
    }
    const text = await res.text();
    if (!res.ok)
      throw new FeaturesServiceError(
        `features service answered ${res.status} for ${path}: ${text.slice(0, 500)}`,
      );
    return FeaturesJobSchema.parse(JSON.parse(text));
  }

  /** Starts (or finds cached) features for every media item of a dataset. */
  requestDataset(datasetId: string, encoder: EncoderSpecInput): Promise<FeaturesJob> {
    return this.call('/v1/features/jobs', { method: 'POST', body: JSON.stringify({ datasetId, encoder }) });
  }

  job(id: string): Promise<FeaturesJob> {
    return this.call(`/v1/features/jobs/${encodeURIComponent(id)}`);
  }

  /** Polls until the job ends; a failed or cancelled job is an error naming it. */
  async waitFor(
    id: string,
    signal: AbortSignal | undefined,
    onUpdate: (job: FeaturesJob) => void | Promise<void>,
    pollMs = 1_000,
  ): Promise<FeaturesJob> {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const job = await this.job(id);
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
