// @mmit/storage: the bucket (minio client) with JSON/stream get-put, conditional writes,
// listing, presigned URLs and retries; plus the embedded S3 server for one-machine use.
export * from './bucket.js';
export * from './config.js';
export * from './embedded.js';
export * from './errors.js';
export * from './parallel.js';
export * from './retry.js';
