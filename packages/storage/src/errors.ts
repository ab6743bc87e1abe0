// Storage errors. Every error names the operation and the key (and, for an unreachable server,
// the endpoint), so a failed import says which object it was writing when the server went away.
export class StorageError extends Error {
  constructor(
    message: string,
    readonly op: string,
    readonly key: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/** The object store could not be reached, or kept failing with transient errors, after all retries. */
export class StorageUnavailableError extends StorageError {
  constructor(
    op: string,
    key: string | undefined,
    readonly endpoint: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(
      `object storage at ${endpoint} unavailable: ${op}${key ? ` ${key}` : ''} failed after ${attempts} attempt(s): ${describe(cause)}`,
      op,
      key,
      { cause },
    );
    this.name = 'StorageUnavailableError';
  }
}

export class ObjectNotFoundError extends StorageError {
  constructor(op: string, key: string, bucket: string) {
    super(`object ${key} not found in bucket ${bucket}`, op, key);
    this.name = 'ObjectNotFoundError';
  }
}

export class BucketNotFoundError extends StorageError {
  constructor(op: string, bucket: string) {
    super(`bucket ${bucket} does not exist (call Bucket.ensure() at start-up)`, op, undefined);
    this.name = 'BucketNotFoundError';
  }
}

/** A stored object did not parse as JSON or did not match the schema it was read with. */
export class StoredObjectInvalidError extends StorageError {
  constructor(key: string, reason: string, cause?: unknown) {
    super(`object ${key} is not valid: ${reason}`, 'getJson', key, { cause });
    this.name = 'StoredObjectInvalidError';
  }
}

export function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return code ? `${code} ${err.message}`.trim() : err.message || err.name;
  }
  return String(err);
}
