// Following a service's event stream (job progress, run metrics) with the API key: EventSource
// cannot send an Authorization header, so the stream is fetched and parsed (event-stream.ts).
import { apiFetch } from './client.js';
import { readEventStream } from './event-stream.js';

/** Follows a GET event stream, calling `onMessage` with each parsed JSON payload. */
export async function followEvents(
  path: string,
  onMessage: (event: string, data: unknown) => void,
  signal: AbortSignal,
): Promise<void> {
  const res = await apiFetch(path, { signal, headers: { accept: 'text/event-stream' } });
  for await (const message of readEventStream(res)) {
    if (signal.aborted) return;
    onMessage(message.event, JSON.parse(message.data));
  }
}
