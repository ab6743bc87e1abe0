// Validation per request part, like hono's validator: `validate('body', Schema)` parses the part,
// answers 400 `validation` with the flattened issues when it fails, and leaves the parsed value on
// `req.valid.body`. Express 5 makes `req.query` a read-only getter, hence a separate `req.valid`.
import { flattenIssues } from '@mmit/contracts';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { HttpError } from './errors.js';

export type RequestPart = 'body' | 'query' | 'params';

declare global {
  namespace Express {
    interface Request {
      /** Parsed request parts, set by validate(). */
      valid: Partial<Record<RequestPart, unknown>>;
    }
  }
}

/** Parses one part of a request with a schema; the problem names the part and each bad field. */
export function parsePart<S extends z.ZodType>(req: Request, part: RequestPart, schema: S): z.output<S> {
  const raw = part === 'body' ? (req.body ?? {}) : req[part];
  const result = schema.safeParse(raw);
  if (!result.success) {
    const errors = flattenIssues(result.error).map((i) => ({
      ...i,
      path: i.path ? `${part}.${i.path}` : part,
    }));
    const first = errors[0];
    throw new HttpError('validation', `invalid request ${part}: ${first.path}: ${first.message}`, { errors });
  }
  return result.data;
}

export function validate(part: RequestPart, schema: z.ZodType): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    req.valid ??= {};
    req.valid[part] = parsePart(req, part, schema);
    next();
  };
}
