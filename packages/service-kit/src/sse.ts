// Server-sent events: `text/event-stream` with a comment line as heartbeat (so proxies and
// clients do not time an idle stream out), ending when the source ends, the client goes away, or
// the service starts shutting down.
import type { Request, Response } from 'express';

export interface SseEvent {
  event?: string;
  id?: string;
  data: unknown;
}

export interface SseOptions {
  heartbeatMs?: number;
  /** Ends the stream when aborted (pass the service's shutdownSignal). */
  signal?: AbortSignal;
}

/** Formats one event; data is JSON on a single line, as the EventSource parser expects. */
export function formatEvent(e: SseEvent): string {
  let out = '';
  if (e.event) out += `event: ${e.event}\n`;
  if (e.id) out += `id: ${e.id}\n`;
  return `${out}data: ${JSON.stringify(e.data)}\n\n`;
}

/**
 * Streams the events that `source` yields. `source` gets a signal that aborts when the stream must
 * stop (client gone, shutdown), so a source that waits or polls can stop waiting.
 */
export async function streamEvents(
  req: Request,
  res: Response,
  source: (signal: AbortSignal) => AsyncIterable<SseEvent>,
  options: SseOptions = {},
): Promise<void> {
  const stop = new AbortController();
  const onClose = () => stop.abort(new Error('client closed the stream'));
  req.on('close', onClose);
  const onShutdown = () => stop.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onShutdown, { once: true });
  if (options.signal?.aborted) stop.abort(options.signal.reason);

  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), options.heartbeatMs ?? 15_000);
  try {
    for await (const event of source(stop.signal)) {
      if (stop.signal.aborted) break;
      res.write(formatEvent(event));
    }
  } catch (err) {
    if (!stop.signal.aborted) {
      res.write(
        formatEvent({ event: 'error', data: { detail: err instanceof Error ? err.message : String(err) } }),
      );
    }
  } finally {
    clearInterval(heartbeat);
    req.off('close', onClose);
    options.signal?.removeEventListener('abort', onShutdown);
    res.end();
  }
}
