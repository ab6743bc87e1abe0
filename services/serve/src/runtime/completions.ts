// One completion from admission to the last token: admission first (a place in the bounded
// queue, or 429 at once, before anything costly), then the request's media are decoded (at most
// `decoding`'s concurrency at a time, so decoding cannot starve generation), then it waits for a
// generation slot, leases the model from the LRU (loading it on first use), builds the prompt and
// generates. Place, slot and lease are given back in `finally`, so a client that disconnects (the
// signal aborts) or an error frees them at once. Metrics are recorded here, once per request.
// A request with several prompts (completions' prompt arrays) builds them all first, so any that
// cannot be answered refuses the request before a token is sent, then answers them in turn in
// its one slot; answer j of prompt p is choice p * n + j, as OpenAI numbers them.
import type { GenerateOptions, GenerationEvent, Prompt, ServedModel } from '../engine/served-model.js';
import type { Outcome, ServeMetrics } from '../metrics.js';
import type { ModelCache } from './model-cache.js';
import type { Admission, RequestQueue } from './request-queue.js';

export interface CompletionJob {
  endpoint: 'chat.completions' | 'completions';
  model: string;
  /** performance.now() when the request arrived. */
  arrivedAt: number;
  /** Decodes the request's media (images, audio); runs after admission, before a slot is taken. */
  decode?: () => Promise<void>;
  /** The place in line taken before the body was read (admitRequest); else run() takes one. */
  admission?: Admission;
  /** The prompts to answer, each `options.n` times. */
  prompts: (model: ServedModel) => Promise<Prompt[]>;
  options: Omit<GenerateOptions, 'signal'>;
  signal: AbortSignal;
}

export type CompletionEvent = GenerationEvent | { type: 'prompt'; index: number; prompt: Prompt };

export class Completions {
  constructor(
    private readonly queue: RequestQueue,
    private readonly models: ModelCache<ServedModel>,
    private readonly metrics: ServeMetrics,
    /** Bounds the decoding of media (MMIT_SERVE_DECODE_CONCURRENCY); unbounded when absent. */
    private readonly decoding?: RequestQueue,
  ) {}

  async *run(job: CompletionJob): AsyncGenerator<CompletionEvent> {
    let outcome: Outcome = 'error';
    const labels = { endpoint: job.endpoint, model: job.model };
    let admission: Admission | undefined;
    try {
      admission = job.admission ?? this.queue.admit();
      if (job.decode) await this.decode(job.decode, job.signal);
      const slot = await admission.slot(job.signal);
      try {
        const lease = await this.models.acquire(job.model);
        try {
          const prompts = await job.prompts(lease.model);
          const n = job.options.n;
          for (const [p, prompt] of prompts.entries()) {
            if (job.signal.aborted) break;
            this.metrics.promptTokens.inc({ model: job.model }, prompt.tokens);
            yield { type: 'prompt', index: p, prompt };
            for await (const event of lease.model.generate(prompt, { ...job.options, signal: job.signal })) {
              if (event.type === 'done') this.record(job, event);
              yield event.type === 'done' ? event : { ...event, index: p * n + event.index };
            }
          }
          outcome = job.signal.aborted ? 'client_closed' : 'ok';
        } finally {
          lease.done();
        }
      } finally {
        slot.release();
      }
    } catch (err) {
      outcome = job.signal.aborted ? 'client_closed' : outcomeOf(err);
      throw err;
    } finally {
      admission?.release();
      this.metrics.requests.inc({ ...labels, outcome });
    }
  }

  private async decode(decode: () => Promise<void>, signal: AbortSignal): Promise<void> {
    if (!this.decoding) return decode();
    const turn = await this.decoding.acquire(signal);
    try {
      await decode();
    } finally {
      turn.release();
    }
  }

  private record(job: CompletionJob, done: Extract<GenerationEvent, { type: 'done' }>): void {
    const model = job.model;
    this.metrics.completionTokens.inc({ model }, done.completionTokens);
    if (done.firstTokenAt === null) return;
    this.metrics.timeToFirstToken.observe({ model }, (done.firstTokenAt - job.arrivedAt) / 1000);
    const seconds = (done.finishedAt - done.firstTokenAt) / 1000;
    if (done.completionTokens > 1 && seconds > 0) {
      this.metrics.decodeTokensPerSecond.observe({ model }, (done.completionTokens - 1) / seconds);
    }
  }
}

function outcomeOf(err: unknown): Outcome {
  const name = (err as Error | null)?.name;
  if (name === 'QueueFullError') return 'rate_limited';
  if (name === 'PromptError' || name === 'MediaTooLargeError' || name === 'ModelNotFoundError')
    return 'rejected';
  return 'error';
}
