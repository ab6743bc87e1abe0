// The CLI's HTTP client: base URL and bearer key from the global options, JSON in and out,
// server-sent events, and error answers turned into one error whose message is the service's own
// words, so the user sees what to fix: problem+json (title, detail, the offending item and field
// issues) from our services, `{ error: { message } }` from the OpenAI-compatible serving API.
import type { Problem } from '@mmit/contracts';
import type { FieldOrigin } from './errors.js';

/** The request an error answers, so the error printer can name its fields as the user wrote them. */
export interface RequestInfo {
  method: string;
  path: string;
  origin?: FieldOrigin;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem> | undefined,
    message: string,
    readonly request?: RequestInfo,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ClientOptions {
  url: string;
  apiKey?: string;
}

function describeProblem(status: number, problem: Partial<Problem>): string {
  const lines = [
    `${problem.title ?? 'request failed'} (${status}${problem.code ? ` ${problem.code}` : ''}): ${problem.detail ?? ''}`,
  ];
  if (problem.item) lines.push(`  item: ${JSON.stringify(problem.item)}`);
  for (const issue of problem.errors ?? []) lines.push(`  ${issue.path}: ${issue.message}`);
  return lines.join('\n');
}

/** The message of an error body: problem+json, OpenAI's `{ error: { message } }`, or the raw text. */
function describeErrorBody(status: number, text: string): { problem?: Partial<Problem>; message: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { message: `${status}: ${text.slice(0, 500)}` };
  }
  if (typeof body !== 'object' || body === null) return { message: `${status}: ${text.slice(0, 500)}` };
  const openAiMessage = (body as { error?: { message?: unknown } }).error?.message;
  if (typeof openAiMessage === 'string') return { message: `${status}: ${openAiMessage}` };
  const problem = body as Partial<Problem>;
  return { problem, message: describeProblem(status, problem) };
}

/**
 * The events of a server-sent-events body: each event's name (`message` when unnamed) and its
 * data lines joined, unparsed, so callers can handle sentinels such as OpenAI's `[DONE]`.
 */
export async function* serverSentEvents(
  body: AsyncIterable<Uint8Array>,
): AsyncGenerator<{ event: string; data: string }> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let cut = buffer.indexOf('\n\n');
    while (cut >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      cut = buffer.indexOf('\n\n');
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length > 0) yield { event, data: data.join('\n') };
    }
  }
}

export class ApiClient {
  constructor(private readonly options: ClientOptions) {}

  url(path: string): string {
    return `${this.options.url.replace(/\/$/, '')}${path}`;
  }

  /** `origin`: where the body's fields came from (a spec file, flags), for error messages. */
  async request(path: string, init: RequestInit = {}, origin?: FieldOrigin): Promise<Response> {
    const info: RequestInfo = { method: init.method ?? 'GET', path, ...(origin ? { origin } : {}) };
    const headers = new Headers(init.headers);
    if (this.options.apiKey) headers.set('authorization', `Bearer ${this.options.apiKey}`);
    let res: Response;
    try {
      res = await fetch(this.url(path), { ...init, headers });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new ApiError(
        0,
        undefined,
        `cannot reach ${this.options.url} (${cause}); is \`pnpm start\` running? (--url / MMIT_URL)`,
        info,
      );
    }
    if (res.ok) return res;
    const { problem, message } = describeErrorBody(res.status, await res.text());
    throw new ApiError(res.status, problem, message, info);
  }

  async json<T>(path: string, init: RequestInit = {}, origin?: FieldOrigin): Promise<T> {
    return (await this.request(path, init, origin)).json() as Promise<T>;
  }

  postJson<T>(path: string, body: unknown, origin?: FieldOrigin): Promise<T> {
    return this.json<T>(
      path,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
      origin,
    );
  }

  /** Server-sent events from `path`, parsed: yields each event's name and JSON data. */
  async *events(path: string, signal?: AbortSignal): AsyncGenerator<{ event: string; data: unknown }> {
    const res = await this.request(path, {
      headers: { accept: 'text/event-stream' },
      ...(signal ? { signal } : {}),
    });
    if (!res.body) return;
    for await (const { event, data } of serverSentEvents(res.body)) yield { event, data: JSON.parse(data) };
  }
}
