// Errors in OpenAI's shape, `{error: {message, type, param, code}}`, with the status codes its
// clients map to exception classes (400 BadRequest, 404 NotFound, 413, 429 RateLimit with
// Retry-After, 500). Domain errors from the engine, media and queue are mapped here in one table.
import { MediaError } from '@mmit/media';
import type { NextFunction, Request, Response } from 'express';
import { ZodError } from 'zod';
import { ModelNotFoundError } from '../catalog/model-catalog.js';
import { RunNotServableError } from '../catalog/run-models.js';
import { PromptError } from '../engine/conversation.js';
import { MediaTooLargeError } from '../media/media-inputs.js';
import { QueueFullError } from '../runtime/request-queue.js';

export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'authentication_error'
  | 'server_error';

export class OpenAIError extends Error {
  override name = 'OpenAIError';
  constructor(
    readonly status: number,
    message: string,
    readonly type: OpenAIErrorType,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export interface ErrorMappingOptions {
  retryAfterSec: number;
}

/** Any thrown value as an OpenAIError; unknown errors become a 500 that leaks nothing. */
export function toOpenAIError(err: unknown, options: ErrorMappingOptions): OpenAIError {
  if (err instanceof OpenAIError) return err;
  if (err instanceof ZodError) {
    const issue = err.issues[0];
    const param = issue.path.map(String).join('.') || null;
    return new OpenAIError(
      400,
      `${param ?? 'body'}: ${issue.message}`,
      'invalid_request_error',
      param,
      'invalid_value',
    );
  }
  if (err instanceof MediaTooLargeError)
    return new OpenAIError(413, err.message, 'invalid_request_error', err.param, err.code);
  if (err instanceof PromptError)
    return new OpenAIError(400, err.message, 'invalid_request_error', err.param, err.code);
  if (err instanceof ModelNotFoundError) {
    return new OpenAIError(404, err.message, 'not_found_error', 'model', 'model_not_found');
  }
  if (err instanceof RunNotServableError)
    return new OpenAIError(400, err.message, 'invalid_request_error', 'model', 'model_not_servable');
  if (err instanceof QueueFullError) {
    return new OpenAIError(429, err.message, 'rate_limit_error', null, 'queue_full', {
      'Retry-After': String(options.retryAfterSec),
    });
  }
  if (err instanceof MediaError)
    return new OpenAIError(400, err.message, 'invalid_request_error', null, err.code);
  return new OpenAIError(
    500,
    'internal error (see the service log for this request id)',
    'server_error',
    null,
    'internal',
  );
}

/** Express error middleware for the OpenAI routes. */
export function openAIErrorHandler(options: ErrorMappingOptions) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const error = toOpenAIError(err, options);
    if (error.status >= 500) req.log?.error({ err }, 'request failed');
    else req.log?.info({ code: error.code, message: error.message }, 'request rejected');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
    res.status(error.status).json(error.body());
  };
}
