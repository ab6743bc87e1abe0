// Structured logs (pino, JSON lines on stdout) with a request id on every line about a request.
// The id comes from an incoming `X-Request-Id` when it looks sane (so a caller or proxy can
// correlate), otherwise a fresh UUID; it is echoed back in the response header.
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { type DestinationStream, type LevelWithSilent, type Logger, pino } from 'pino';

declare global {
  namespace Express {
    interface Request {
      id: string;
      log: Logger;
    }
  }
}

export type { Logger };

export function createLogger(
  service: string,
  version: string,
  level: LevelWithSilent,
  destination?: DestinationStream,
): Logger {
  return pino({ name: service, level, base: { service, version, pid: process.pid } }, destination);
}

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Assigns `req.id` and `req.log`, and logs one line per finished request. */
export function requestLogging(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.get('x-request-id');
    req.id = incoming && SANE_ID.test(incoming) ? incoming : randomUUID();
    req.log = logger.child({ reqId: req.id });
    res.setHeader('X-Request-Id', req.id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const line = {
        method: req.method,
        url: req.originalUrl,
        status: res.statusCode,
        ms: Math.round(ms * 10) / 10,
      };
      if (res.statusCode >= 500) req.log.error(line, 'request failed');
      else req.log.info(line, 'request');
    });
    next();
  };
}
