// The SDK-behaved load (sdkLoadTest in load-test.ts) in its own thread: `users` loops, each one
// sending the same chat completion through the official `openai` client, the way an application
// using it would: on a 429 the client waits what Retry-After says and tries again, at most
// `maxRetries` times (the SDK's default is 2), then gives up with a RateLimitError; the loop then
// sends its next request. Every HTTP attempt's status is counted through the client's fetch.
// Plain JavaScript: a worker thread does not inherit tsx's loader. Input and output types are
// SdkLoadInput and SdkLoadOutput in load-test.ts.
import { parentPort, workerData } from 'node:worker_threads';
import OpenAI, { APIError } from 'openai';

const input = workerData;
const attempts = {};
const count = (key) => {
  attempts[key] = (attempts[key] ?? 0) + 1;
};
const client = new OpenAI({
  baseURL: input.baseURL,
  apiKey: 'not-needed',
  maxRetries: input.maxRetries,
  timeout: 60_000,
  fetch: async (url, init) => {
    try {
      const res = await fetch(url, init);
      count(String(res.status));
      return res;
    } catch (err) {
      count('ERR');
      throw err;
    }
  },
});

const deadline = performance.now() + input.seconds * 1000;
const out = { answered: 0, refused: 0, failed: 0, attempts };

async function user() {
  while (performance.now() < deadline) {
    try {
      await client.chat.completions.create(input.body);
      if (performance.now() <= deadline) out.answered++;
    } catch (err) {
      if (performance.now() > deadline) return;
      if (err instanceof APIError && err.status === 429) out.refused++;
      else out.failed++;
    }
  }
}

void Promise.all(Array.from({ length: input.users }, user));
// Requests still in flight (or a retry still waiting) at the deadline are not counted.
setTimeout(() => parentPort?.postMessage(out), input.seconds * 1000 + 50);
