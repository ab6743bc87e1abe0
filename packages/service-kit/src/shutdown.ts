// Graceful HTTP shutdown: stop accepting connections, let in-flight requests finish (up to a
// time limit), then close whatever connections remain. Keep-alive connections that sit idle are
// closed as soon as no request is using them, so a drained server exits promptly.
import type { Server } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

/** Counts requests between arrival and the response's end (or the client going away). */
export class InFlightRequests {
  private active = 0;
  private waiters: (() => void)[] = [];

  get count(): number {
    return this.active;
  }

  readonly middleware = (_req: Request, res: Response, next: NextFunction) => {
    this.active++;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.active--;
      if (this.active === 0) for (const w of this.waiters.splice(0)) w();
    };
    res.on('finish', finish);
    res.on('close', finish);
    next();
  };

  /** Resolves when no request is in flight, or after `timeoutMs`; says which. */
  async idle(timeoutMs: number): Promise<'drained' | 'timed_out'> {
    if (this.active === 0) return 'drained';
    let timer: NodeJS.Timeout | undefined;
    const drained = new Promise<'drained'>((resolve) => this.waiters.push(() => resolve('drained')));
    const timedOut = new Promise<'timed_out'>((resolve) => {
      timer = setTimeout(() => resolve('timed_out'), timeoutMs);
    });
    const result = await Promise.race([drained, timedOut]);
    clearTimeout(timer);
    return result;
  }
}

/** Closes a server after draining; resolves once every connection is gone. */
export async function drainAndClose(
  server: Server,
  inFlight: InFlightRequests,
  timeoutMs: number,
): Promise<{ drained: boolean; abandoned: number }> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const outcome = await inFlight.idle(timeoutMs);
  const abandoned = outcome === 'drained' ? 0 : inFlight.count;
  if (outcome === 'drained') server.closeIdleConnections();
  else server.closeAllConnections();
  // A request still arriving on an open connection when the drain began was not counted; on a
  // loaded machine it can land after the check above. Do not wait on it past the same limit
  // (server.close() alone would wait for Node's request timeout, minutes).
  const late = setTimeout(() => server.closeAllConnections(), timeoutMs);
  await closed;
  clearTimeout(late);
  return { drained: outcome === 'drained', abandoned };
}
