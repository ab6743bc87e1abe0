// Admission before the body is read. A completion request may carry megabytes of inline images;
// parsing that JSON for a request that will only be told 429 made every refusal cost almost as
// much as an answer (answered requests fell 65% at 3x the admitted connections). This middleware
// runs before the JSON parser: it takes the request's place in the queue, or refuses it at once.
// The route hands the place to Completions; a request refused later (400, 404) or closed before
// that gives it back when its response closes.
//
// A refusal is written here, not thrown to the error formatter: a prebuilt OpenAI-shaped body,
// no Error with a stack, no trip through the error chain. It carries `Connection: close`, so the
// unread body is not drained either: Node closes the socket once the answer is out instead of
// pulling the rest of the request off the wire to keep the connection alive (for a 3 MB image
// that copy cost as much as the refusal itself), and a client must reconnect to try again.
import type { NextFunction, Request, Response } from 'express';
import type { ServeMetrics } from '../metrics.js';
import { type Admission, queueFullMessage, type RequestQueue } from './request-queue.js';

const ADMISSION = Symbol('admission');

type WithAdmission = Response & { [ADMISSION]?: Admission };

export interface AdmissionOptions {
  /** Retry-After (seconds) on a refusal (MMIT_SERVE_RETRY_AFTER_SEC). */
  retryAfterSec: number;
}

export function admitBeforeBody(
  queue: RequestQueue,
  metrics: ServeMetrics,
  endpoint: string,
  options: AdmissionOptions,
) {
  return (_req: Request, res: Response, next: NextFunction) => {
    const admission = queue.tryAdmit();
    if (!admission) {
      // The model is not known yet (the body is unread).
      metrics.requests.inc({ endpoint, model: '', outcome: 'rate_limited' });
      refuse(res, queue.waiting, options.retryAfterSec);
      return;
    }
    (res as WithAdmission)[ADMISSION] = admission;
    res.on('close', () => (res as WithAdmission)[ADMISSION]?.release());
    next();
  };
}

/** 429 in OpenAI's shape (as the error formatter writes a QueueFullError), closing the connection. */
function refuse(res: Response, waiting: number, retryAfterSec: number): void {
  const body = JSON.stringify({
    error: { message: queueFullMessage(waiting), type: 'rate_limit_error', param: null, code: 'queue_full' },
  });
  res.writeHead(429, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'retry-after': String(retryAfterSec),
    connection: 'close',
  });
  res.end(body);
}

/** The place admitBeforeBody took for this request; from now on the caller releases it. */
export function takeAdmission(res: Response): Admission | undefined {
  const admission = (res as WithAdmission)[ADMISSION];
  (res as WithAdmission)[ADMISSION] = undefined;
  return admission;
}
