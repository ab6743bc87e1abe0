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

/**
 * A conditional write found the key not as it expected: it exists (create-if-absent) or holds
 * another version (replace-if-unchanged). The caller re-reads and decides again.
 */
export class PreconditionFailedError extends StorageError {
  constructor(op: string, key: string) {
    super(`${op} ${key}: the object changed (it exists, or its etag differs from the one expected)`, op, key);
    this.name = 'PreconditionFailedError';
  }
}

/** A read-modify-write of one key lost every race it ran (many writers at once). */
export class UpdateConflictError extends StorageError {
  constructor(key: string, attempts: number) {
    super(`gave up updating ${key}: another writer changed it ${attempts} times in a row`, 'update', key);
    this.name = 'UpdateConflictError';
  }
}

/**
 * The S3 server accepted a conditional write it should have refused, so leases and
 * compare-and-swap would silently be unsafe. mmit refuses to run on it rather than fall back.
 */
export class ConditionalWritesUnsupportedError extends StorageError {
  constructor(
    readonly endpoint: string,
    readonly server: string,
  ) {
    super(
      `the S3 server at ${endpoint} (${server}) does not enforce conditional writes (If-None-Match: * was accepted over an existing object). mmit coordinates replicas with them: use AWS S3, MinIO (2024 or later), GCS, Cloudflare R2 or Backblaze B2, or the embedded server`,
      'check',
      undefined,
    );
    this.name = 'ConditionalWritesUnsupportedError';
  }
}
