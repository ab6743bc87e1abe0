// What a failed request looks like to the pages: one error class carrying the service's answer,
// whether it is problem+json (our services) or OpenAI's `{error: {...}}` (the serve service).
export interface FieldIssue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    /** Stable code: the problem's `code`, OpenAI's `error.code`/`type`, or `network`. */
    readonly code: string,
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Reads an error body into an ApiError, whatever shape the service answered with. */
export function apiErrorFrom(status: number, body: unknown, fallback: string): ApiError {
  if (isRecord(body) && typeof body.detail === 'string') {
    const issues = Array.isArray(body.errors)
      ? body.errors.filter(isRecord).map((e) => ({ path: String(e.path), message: String(e.message) }))
      : [];
    return new ApiError(status, String(body.code ?? 'error'), body.detail, issues);
  }
  if (isRecord(body) && isRecord(body.error) && typeof body.error.message === 'string') {
    const code = String(body.error.code ?? body.error.type ?? 'error');
    const param = typeof body.error.param === 'string' ? body.error.param : undefined;
    return new ApiError(
      status,
      code,
      body.error.message,
      param ? [{ path: param, message: body.error.message }] : [],
    );
  }
  return new ApiError(status, 'error', fallback);
}
