// The CLI's HTTP client: base URL and bearer key from the global options, JSON in and out, and
// problem+json answers turned into one error whose message is the problem's own words (title,
// detail, the offending item and field issues), so the user sees what to fix.
import type { Problem } from '@mmit/contracts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem> | undefined,
    message: string,
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

export class ApiClient {
  constructor(private readonly options: ClientOptions) {}

  url(path: string): string {
    return `${this.options.url.replace(/\/$/, '')}${path}`;
  }

  async request(path: string, init: RequestInit = {}): Promise<Response> {
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
      );
    }
    if (res.ok) return res;
    const text = await res.text();
    let problem: Partial<Problem> | undefined;
    try {
      problem = JSON.parse(text) as Partial<Problem>;
    } catch {
      problem = undefined;
    }
    throw new ApiError(
      res.status,
      problem,
      problem ? describeProblem(res.status, problem) : `${res.status}: ${text.slice(0, 500)}`,
    );
  }

  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    return (await this.request(path, init)).json() as Promise<T>;
  }

  postJson<T>(path: string, body: unknown): Promise<T> {
    return this.json<T>(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  /** Server-sent events from `path`, parsed: yields each event's name and JSON data. */
  async *events(path: string, signal?: AbortSignal): AsyncGenerator<{ event: string; data: unknown }> {
    const res = await this.request(path, {
      headers: { accept: 'text/event-stream' },
      ...(signal ? { signal } : {}),
    });
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
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
        if (data.length > 0) yield { event, data: JSON.parse(data.join('\n')) };
      }
    }
  }
}
