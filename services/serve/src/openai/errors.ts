// Errors in OpenAI's shape, `{error: {message, type, param, code}}`, with the status codes its
// clients map to exception classes (400 BadRequest, 401 Authentication, 404 NotFound, 413,
// 429 RateLimit with Retry-After, 500). Domain errors from the engine, media and queue are mapped
// here in one table; what the shared service layer rejects before the routes run (API key, body
// size and JSON syntax) keeps its status and gets an OpenAI type and code. The formatter is
// registered with service-kit for /v1, so every error under it is written here.
import { MediaError } from '@mmit/media';
import type { ErrorFormatter, HttpError } from '@mmit/service-kit';
import { ZodError } from 'zod';
import { AmbiguousModelError, ModelNotFoundError } from '../catalog/model-catalog.js';
import { RunNotServableError } from '../catalog/run-models.js';
import { PromptError } from '../engine/conversation.js';
import { MediaTooLargeError } from '../media/media-inputs.js';
import { QueueFullError } from '../runtime/request-queue.js';

export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'not_found_error'
  | 'rate_limit_error'
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
export function toOpenAIError(err: unknown, options: ErrorMappingOptions, http?: HttpError): OpenAIError {
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
  if (err instanceof AmbiguousModelError)
    return new OpenAIError(400, err.message, 'invalid_request_error', 'model', 'model_ambiguous');
  if (err instanceof RunNotServableError)
    return new OpenAIError(400, err.message, 'invalid_request_error', 'model', 'model_not_servable');
  if (err instanceof QueueFullError) {
    return new OpenAIError(429, err.message, 'rate_limit_error', null, 'queue_full', {
      'Retry-After': String(options.retryAfterSec),
    });
  }
  if (err instanceof MediaError)
    return new OpenAIError(400, err.message, 'invalid_request_error', null, err.code);
  if (http && http.code !== 'internal') return fromServiceLayer(http);
  return new OpenAIError(
    500,
    'internal error (see the service log for this request id)',
    'server_error',
    null,
    'internal',
  );
}

/**
 * OpenAI's codes for what the shared layer refuses. Its `validation` is a body that is not JSON,
 * unless it names fields (a typed route's schema refused them): that is `invalid_value`, below.
 */
const SERVICE_LAYER_CODES: Record<string, string> = {
  unauthorized: 'invalid_api_key',
  validation: 'invalid_json',
};

function typeFor(status: number): OpenAIErrorType {
  if (status >= 500) return 'server_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  return 'invalid_request_error';
}

function fromServiceLayer(http: HttpError): OpenAIError {
  const field = http.code === 'validation' ? http.options.errors?.[0] : undefined;
  if (field) {
    // The route's schema refused a field: OpenAI's param is its path inside the body.
    const param = field.path.replace(/^body\.?/, '') || null;
    return new OpenAIError(
      400,
      `${param ?? 'body'}: ${field.message}`,
      'invalid_request_error',
      param,
      'invalid_value',
    );
  }
  return new OpenAIError(
    http.status,
    http.detail,
    typeFor(http.status),
    null,
    SERVICE_LAYER_CODES[http.code] ?? http.code,
    http.options.headers,
  );
}

/** service-kit's error formatter for /v1: every error there in OpenAI's shape. */
export function openAIErrorFormatter(options: ErrorMappingOptions): ErrorFormatter {
  return ({ error, http }) => {
    const openAIError = toOpenAIError(error, options, http);
    return {
      status: openAIError.status,
      contentType: 'application/json',
      body: openAIError.body(),
      headers: openAIError.headers,
    };
  };
}
