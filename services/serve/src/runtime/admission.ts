// Admission before the body is read. A completion request may carry megabytes of inline images;
// parsing that JSON for a request that will only be told 429 made every refusal cost almost as
// much as an answer (answered requests fell 65% at 3x the admitted connections). This middleware
// runs before the JSON parser: it takes the request's place in the queue, or answers 429 at once
// and leaves the body unread. The route hands the place to Completions; a request refused later
// (400, 404) or closed before that gives it back when its response closes.
import type { NextFunction, Request, Response } from 'express';
import type { ServeMetrics } from '../metrics.js';
import type { Admission, RequestQueue } from './request-queue.js';

const ADMISSION = Symbol('admission');

type WithAdmission = Response & { [ADMISSION]?: Admission };

export function admitBeforeBody(queue: RequestQueue, metrics: ServeMetrics, endpoint: string) {
  return (_req: Request, res: Response, next: NextFunction) => {
    let admission: Admission;
    try {
      admission = queue.admit();
    } catch (err) {
      // The model is not known yet (the body is unread).
      metrics.requests.inc({ endpoint, model: '', outcome: 'rate_limited' });
      next(err);
      return;
    }
    (res as WithAdmission)[ADMISSION] = admission;
    res.on('close', () => (res as WithAdmission)[ADMISSION]?.release());
    next();
  };
}

/** The place admitBeforeBody took for this request; from now on the caller releases it. */
export function takeAdmission(res: Response): Admission | undefined {
  const admission = (res as WithAdmission)[ADMISSION];
  (res as WithAdmission)[ADMISSION] = undefined;
  return admission;
}
