// Refuses JSON bodies that nest deeper than the configured depth, right after parsing: schema
// validation, logging and storing all walk a body recursively, and a body of a few hundred
// kilobytes can nest a hundred thousand levels deep.
import { jsonDepth } from '@mmit/contracts';
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from './errors.js';

export function jsonDepthGuard(maxDepth: number) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const body: unknown = req.body;
    if (body !== null && typeof body === 'object' && jsonDepth(body, maxDepth) > maxDepth) {
      next(
        new HttpError(
          'validation',
          `the JSON body nests deeper than ${maxDepth} levels of arrays and objects (MMIT_JSON_MAX_DEPTH)`,
        ),
      );
      return;
    }
    next();
  };
}
