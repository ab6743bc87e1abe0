// Optional bearer API key. When MMIT_API_KEY is set, every route except the open ones (health,
// metrics) needs `Authorization: Bearer <key>`; the comparison is constant-time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from './errors.js';

export const OPEN_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

function digest(s: string): Buffer {
  // Hashing first makes both sides the same length, as timingSafeEqual requires.
  return createHash('sha256').update(s).digest();
}

export function bearerAuth(apiKey: string | undefined) {
  const expected = apiKey ? digest(apiKey) : undefined;
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!expected || OPEN_PATHS.has(req.path)) return next();
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (match && timingSafeEqual(digest(match[1].trim()), expected)) return next();
    next(
      new HttpError(
        'unauthorized',
        match ? 'the API key is wrong' : 'send Authorization: Bearer <MMIT_API_KEY>',
        {
          headers: { 'WWW-Authenticate': 'Bearer' },
        },
      ),
    );
  };
}
