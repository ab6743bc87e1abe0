// A client for any OpenAI-compatible `/v1/chat/completions` endpoint: one request per call, a
// timeout per attempt, retries with exponential backoff and jitter on what another attempt can
// fix (timeouts, 429, 5xx, refused connections, malformed bodies), and a circuit breaker: after
// `breakerThreshold` calls in a row fail as unreachable, later calls fail at once instead of each
// waiting through its own retries, so a job against a dead endpoint still ends promptly.
import { LlmError } from './errors.js';
import { sleep } from './limiter.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature: number;
  max_tokens: number;
  response_format?: { type: 'json_object' };
}

export interface ChatReply {
  content: string;
  /** Total tokens the endpoint reported, or an estimate (characters / 4) when it reported none. */
  tokens: number;
}

export interface ChatClientOptions {
  /** e.g. `http://127.0.0.1:8000` or `https://api.example.com/v1` */
  baseUrl: string;
  apiKey?: string;
  timeoutMs: number;
  retries: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  breakerThreshold?: number;
  fetch?: typeof fetch;
}

export interface CompleteOptions {
  signal?: AbortSignal;
  /** Checks the content (throwing an LlmError of kind invalid_reply). */
  validate?: (content: string) => void;
  /**
   * Called for every attempt the endpoint answered with content, valid or not: each one cost
   * tokens, so a budget must count them all, retries and rejected replies included.
   */
  onAnswer?: (reply: ChatReply) => void;
}

export function completionsUrl(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return base.endsWith('/v1') ? `${base}/chat/completions` : `${base}/v1/chat/completions`;
}

interface CompletionBody {
  choices?: { message?: { content?: unknown } }[];
  usage?: { total_tokens?: unknown };
}

/**
 * Endpoints that refused JSON mode (`response_format`), in this process. Many OpenAI-compatible
 * servers have no constrained JSON decoding and say so with a 400 on that parameter; the prompt
 * already asks for one JSON object and every reply is validated, so such an endpoint is asked
 * without it, once it has said so, by every client.
 */
const refusesJsonMode = new Set<string>();

/** Whether an error body is OpenAI's shape naming `response_format` as the refused parameter. */
function refusesResponseFormat(text: string): boolean {
  try {
    return (JSON.parse(text) as { error?: { param?: unknown } }).error?.param === 'response_format';
  } catch {
    return false;
  }
}

export class ChatClient {
  private readonly url: string;
  private consecutiveUnreachable = 0;

  constructor(private readonly options: ChatClientOptions) {
    this.url = completionsUrl(options.baseUrl);
  }

  /**
   * Sends a request. A reply that `validate` rejects is retried like any other failure, since
   * sampling may do better next time.
   */
  async complete(request: ChatRequest, options: CompleteOptions = {}): Promise<ChatReply> {
    const { signal, validate, onAnswer } = options;
    const threshold = this.options.breakerThreshold ?? 3;
    if (this.consecutiveUnreachable >= threshold) {
      throw new LlmError(
        'unreachable',
        `endpoint ${this.url} unreachable (${this.consecutiveUnreachable} calls in a row failed); not trying again in this job`,
        false,
      );
    }
    let last: LlmError | undefined;
    for (let attempt = 0; attempt <= this.options.retries; attempt++) {
      if (attempt > 0) {
        const cap = Math.min(
          this.options.maxDelayMs ?? 5_000,
          (this.options.baseDelayMs ?? 250) * 2 ** (attempt - 1),
        );
        await sleep(cap / 2 + Math.random() * (cap / 2), signal);
      }
      try {
        const reply = await this.attempt(request, signal);
        onAnswer?.(reply);
        validate?.(reply.content);
        this.consecutiveUnreachable = 0;
        return reply;
      } catch (err) {
        if (!(err instanceof LlmError)) throw err;
        last = err;
        const retryable = err.retryable || err.failure === 'invalid_reply';
        if (!retryable || signal?.aborted) break;
      }
    }
    if (last?.failure === 'unreachable') this.consecutiveUnreachable++;
    else this.consecutiveUnreachable = 0;
    throw last!;
  }

  private async attempt(request: ChatRequest, signal?: AbortSignal): Promise<ChatReply> {
    if (request.response_format && refusesJsonMode.has(this.url)) {
      const { response_format: _, ...plain } = request;
      request = plain;
    }
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Response;
    let text: string;
    try {
      res = await (this.options.fetch ?? fetch)(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}),
        },
        body: JSON.stringify(request),
        signal: combined,
      });
      text = await res.text();
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted)
        throw new LlmError(
          'timeout',
          `no reply from ${this.url} within ${this.options.timeoutMs} ms`,
          true,
          undefined,
          { cause: err },
        );
      const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new LlmError('unreachable', `cannot reach ${this.url}: ${code}`, true, undefined, { cause: err });
    }
    if (res.status === 400 && request.response_format && refusesResponseFormat(text)) {
      refusesJsonMode.add(this.url);
      return this.attempt(request, signal);
    }
    if (!res.ok) {
      const retryable = res.status === 429 || res.status >= 500;
      throw new LlmError(
        'http',
        `${this.url} answered ${res.status}: ${text.slice(0, 200)}`,
        retryable,
        res.status,
      );
    }
    let body: CompletionBody;
    try {
      body = JSON.parse(text) as CompletionBody;
    } catch {
      throw new LlmError(
        'invalid_reply',
        `${this.url} answered a body that is not JSON: ${text.slice(0, 120)}`,
        true,
      );
    }
    const content = body.choices?.[0]?.message?.content;
    if (typeof content !== 'string')
      throw new LlmError('invalid_reply', `${this.url} answered without choices[0].message.content`, true);
    const reported = body.usage?.total_tokens;
    const tokens =
      typeof reported === 'number' && reported >= 0
        ? reported
        : Math.ceil((JSON.stringify(request.messages).length + content.length) / 4);
    return { content, tokens };
  }
}
