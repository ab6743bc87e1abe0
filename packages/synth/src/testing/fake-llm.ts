// A small OpenAI-compatible chat server for tests: POST /v1/chat/completions answers with JSON
// built from the request (the conversation answer repeats the item's first caption, so it is
// grounded), or misbehaves as the current mode says: 500s, a hang past the client's timeout,
// a body that is not JSON, content that is not the asked-for JSON, or an invented object. It
// records every request so tests can count calls and read prompts. Not a model; a test double
// for the network boundary until the project's own serving service exists.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeLlmMode =
  | 'ok'
  | 'error500'
  | 'hang'
  | 'not-json'
  | 'wrong-shape'
  | 'invent'
  /** 500 on the first attempt of each request, then ok (tests retries). */
  | 'flaky';

export interface RecordedRequest {
  model: string;
  messages: { role: string; content: string }[];
  authorization?: string;
}

export interface FakeLlm {
  url: string;
  mode: FakeLlmMode;
  /** Delay before every answer, in ms. */
  delayMs: number;
  requests: RecordedRequest[];
  /** Sets the mode and forgets every request seen so far. */
  reset(mode: FakeLlmMode): void;
  close(): Promise<void>;
}

function firstCaption(content: string): string {
  return /^- (.+)$/m.exec(content)?.[1] ?? 'Nothing.';
}

function replyContent(request: RecordedRequest, mode: FakeLlmMode): string {
  const system = request.messages[0]?.content ?? '';
  const user = request.messages[request.messages.length - 1]?.content ?? '';
  const caption = firstCaption(user);
  if (mode === 'wrong-shape') return JSON.stringify({ answer: caption });
  const invented = mode === 'invent' ? ' A giraffe stands beside it.' : '';
  if (system.includes('"description"')) return JSON.stringify({ description: `${caption}${invented}` });
  if (system.includes('needs reasoning')) {
    return JSON.stringify({
      turns: [
        {
          question: 'How can you tell what is going on?',
          answer: `It follows from what is there: ${caption}${invented}`,
        },
      ],
    });
  }
  return JSON.stringify({
    turns: [
      { question: 'What does it show?', answer: `${caption}${invented}` },
      { question: 'Is there anything else worth noting?', answer: `Only this: ${caption}` },
    ],
  });
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeLlm(mode: FakeLlmMode = 'ok'): Promise<FakeLlm> {
  const attempts = new Map<string, number>();
  const state: Omit<FakeLlm, 'url' | 'close'> = {
    mode,
    delayMs: 0,
    requests: [],
    reset(next) {
      state.mode = next;
      state.requests.length = 0;
      attempts.clear();
    },
  };
  const server: Server = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404).end();
      return;
    }
    const text = await body(req);
    const parsed = JSON.parse(text) as RecordedRequest;
    const request = {
      model: parsed.model,
      messages: parsed.messages,
      authorization: req.headers.authorization,
    };
    state.requests.push(request);
    const seen = (attempts.get(text) ?? 0) + 1;
    attempts.set(text, seen);
    if (state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs));
    const current = state.mode;
    if (current === 'hang') return; // never answers; the client's timeout ends it
    if (current === 'error500' || (current === 'flaky' && seen === 1)) {
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end('{"error":{"message":"model overloaded"}}');
      return;
    }
    if (current === 'not-json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices": [ {"message": ');
      return;
    }
    const content = replyContent(request, current);
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: `fake-${state.requests.length}`,
        object: 'chat.completion',
        model: request.model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const fake = Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
  return fake as FakeLlm;
}
