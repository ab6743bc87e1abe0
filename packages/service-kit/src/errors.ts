// One HTTP error class, and the mapping from everything else to it. Domain errors either carry a
// `problemCode` (and are mapped by it) or are registered with a mapper on the service; zod errors
// become 400 `validation` with the flattened issues; body-parser errors and storage errors get
// their codes here; anything unknown is a 500 `internal` whose detail does not leak internals.
import {
  type FieldIssue,
  flattenIssues,
  PROBLEMS,
  type Problem,
  type ProblemCode,
  type ProblemItemSchema,
  problem,
} from '@mmit/contracts';
import { ObjectNotFoundError, StorageUnavailableError } from '@mmit/storage';
import { ZodError, type z } from 'zod';

export interface HttpErrorOptions {
  item?: z.infer<typeof ProblemItemSchema>;
  errors?: FieldIssue[];
  /** Extra response headers (e.g. `WWW-Authenticate`, `Retry-After`). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class HttpError extends Error {
  readonly status: number;
  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly options: HttpErrorOptions = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = 'HttpError';
    this.status = PROBLEMS[code].status;
  }

  toProblem(instance?: string): Problem {
    return problem(this.code, this.detail, {
      ...(instance ? { instance } : {}),
      ...(this.options.item ? { item: this.options.item } : {}),
      ...(this.options.errors ? { errors: this.options.errors } : {}),
    });
  }
}

// biome-ignore lint/suspicious/noExplicitAny: constructor parameters vary per error class
export type ErrorClass<E extends Error> = abstract new (...args: any[]) => E;
export type ErrorMapper<E extends Error> = (err: E) => HttpError;

/** Mappings from domain error classes to HttpError, checked in registration order. */
export class ErrorMappings {
  private readonly entries: [ErrorClass<Error>, ErrorMapper<Error>][] = [];
  /** The setting a 413 for a too-large JSON body names. */
  bodyLimitSetting = 'MMIT_JSON_BODY_LIMIT';

  add<E extends Error>(cls: ErrorClass<E>, map: ErrorMapper<E>): void {
    this.entries.push([cls, map as ErrorMapper<Error>]);
  }

  /** Turns any thrown value into an HttpError. */
  toHttpError(err: unknown): HttpError {
    if (err instanceof HttpError) return err;
    if (err instanceof Error) {
      for (const [cls, map] of this.entries) if (err instanceof cls) return map(err);
    }
    if (err instanceof ZodError) {
      return new HttpError('validation', 'request failed validation', {
        errors: flattenIssues(err),
        cause: err,
      });
    }
    const code = (err as { problemCode?: unknown } | null)?.problemCode;
    if (typeof code === 'string' && code in PROBLEMS) {
      // A domain error may name the request field at fault (`problemField`, dotted like zod's paths).
      const field = (err as { problemField?: unknown }).problemField;
      const message = (err as Error).message;
      return new HttpError(code as ProblemCode, message, {
        cause: err,
        ...(typeof field === 'string' ? { errors: [{ path: field, message, code: 'invalid_value' }] } : {}),
      });
    }
    if (err instanceof StorageUnavailableError) {
      return new HttpError('storage_unavailable', err.message, {
        headers: { 'Retry-After': '5' },
        cause: err,
      });
    }
    if (err instanceof ObjectNotFoundError) return new HttpError('not_found', err.message, { cause: err });
    const bodyError = fromBodyParser(err, this.bodyLimitSetting);
    if (bodyError) return bodyError;
    return new HttpError('internal', 'internal error (see the service log for this request id)', {
      cause: err,
    });
  }
}

/** express.json() errors carry a `type`; map the ones a client can cause. */
function fromBodyParser(err: unknown, limitSetting: string): HttpError | undefined {
  const e = err as { type?: unknown; message?: string; limit?: number } | null;
  switch (e?.type) {
    case 'entity.too.large':
      return new HttpError(
        'payload_too_large',
        `request body exceeds the limit of ${e.limit} bytes (${limitSetting})`,
        {
          cause: err,
        },
      );
    case 'entity.parse.failed':
      return new HttpError('validation', `request body is not valid JSON: ${e.message}`, { cause: err });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError('unsupported_media_type', e.message ?? 'unsupported body encoding', {
        cause: err,
      });
    case 'request.aborted':
      return new HttpError('upload_incomplete', 'the request body ended early', { cause: err });
    default:
      return undefined;
  }
}
