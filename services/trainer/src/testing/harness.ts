// A real trainer service on a random port over the test store (the embedded S3 server, or the
// endpoint MMIT_S3_* name), with a tiny dataset and its cached features in the bucket; plus a small
// SSE reader for the events route.
import { newId } from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';
import { startTestStore } from '@mmit/storage/testing';
import { writeTinyDataset } from '@mmit/train/testing';
import { createTrainerService } from '../app.js';

export interface Harness {
  url: string;
  bucket: Bucket;
  datasetId: string;
  /** Closes the service only (runs are interrupted), then starts a new one on the same bucket. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** `env` adds trainer variables (e.g. WANDB_*) to the test's own. */
export async function startHarness(options: { env?: NodeJS.ProcessEnv } = {}): Promise<Harness> {
  const store = await startTestStore({
    name: 'trainer-it',
    retry: { retries: 2, baseDelayMs: 50, maxDelayMs: 200 },
  });
  const { config, bucket } = store;
  const datasetId = newId('dataset');
  await writeTinyDataset(bucket, datasetId, { train: 12, validation: 4 });
  const launch = async () => {
    const trainer = createTrainerService({
      env: { MMIT_TRAINER_PORT: '0', MMIT_LOG_LEVEL: 'silent', ...options.env },
      bucket: config,
      stateIntervalMs: 0,
      wandbFlushMs: 50,
    });
    return trainer.start();
  };
  let running = await launch();
  const harness: Harness = {
    url: running.url,
    bucket,
    datasetId,
    async restart() {
      await running.close();
      running = await launch();
      harness.url = running.url;
    },
    async close() {
      await running.close();
      await store.stop();
    },
  };
  return harness;
}

export interface SseMessage {
  event: string;
  data: Record<string, unknown>;
}

/** Reads server-sent events until `until` returns true for one (or the stream ends). */
export async function readEvents(
  url: string,
  until: (message: SseMessage) => boolean,
  timeoutMs = 60_000,
): Promise<SseMessage[]> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`no matching event from ${url} in ${timeoutMs} ms`)),
    timeoutMs,
  );
  const res = await fetch(url, { signal: controller.signal });
  const messages: SseMessage[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!event || !data) continue;
        const message = { event, data: JSON.parse(data) as Record<string, unknown> };
        messages.push(message);
        if (until(message)) return messages;
      }
    }
    return messages;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}
