// How error responses are written. Every service answers RFC 9457 problem+json by default; a
// service that speaks someone else's protocol under part of its URL space (the serve service's
// OpenAI API under /v1) registers a formatter for that path prefix, and then every error there
// takes that shape: its own routes' errors and the shared layer's too (bad or missing API key,
// a body too large or not JSON, no such route), since they all end in the same error handler.
// Limits: one formatter per prefix; the longest matching prefix wins; prefixes match whole path
// segments (`/v1` covers `/v1` and `/v1/models`, not `/v10`).
import type { Request } from 'express';
import type { HttpError } from './errors.js';

/** An error as it goes on the wire. */
export interface ErrorResponse {
  status: number;
  contentType: string;
  body: unknown;
  headers?: Record<string, string>;
}

export interface FailedRequest {
  /** What was thrown or passed to next(): formats that know their own domain errors look here. */
  error: unknown;
  /** The shared layer's reading of it (status, problem code, detail, headers). */
  http: HttpError;
  req: Request;
}

export type ErrorFormatter = (failure: FailedRequest) => ErrorResponse;

/** The default: RFC 9457 problem+json, with the request URL as the instance. */
export const problemJsonFormatter: ErrorFormatter = ({ http, req }) => ({
  status: http.status,
  contentType: 'application/problem+json',
  body: http.toProblem(req.originalUrl),
  ...(http.options.headers ? { headers: http.options.headers } : {}),
});

export class InvalidPathPrefixError extends Error {
  constructor(readonly prefix: string) {
    super(`error format prefix '${prefix}' must start with '/' and not end with '/' (e.g. '/v1')`);
    this.name = 'InvalidPathPrefixError';
  }
}

/** Formatters by path prefix, falling back to problem+json. */
export class ErrorFormats {
  private readonly byPrefix = new Map<string, ErrorFormatter>();

  set(prefix: string, formatter: ErrorFormatter): void {
    if (!prefix.startsWith('/') || (prefix.length > 1 && prefix.endsWith('/')))
      throw new InvalidPathPrefixError(prefix);
    this.byPrefix.set(prefix, formatter);
  }

  /** The formatter for a request path (without the query string). */
  forPath(path: string): ErrorFormatter {
    let best: [string, ErrorFormatter] | undefined;
    for (const [prefix, formatter] of this.byPrefix) {
      const covers = prefix === '/' || path === prefix || path.startsWith(`${prefix}/`);
      if (covers && (!best || prefix.length > best[0].length)) best = [prefix, formatter];
    }
    return best?.[1] ?? problemJsonFormatter;
  }
}
