// Object-store settings from the environment, validated in one place. With no endpoint set, the
// launcher starts the embedded S3 server and passes its URL down to the services.
import type { EnvVarDoc } from '@mmit/contracts';
import { z } from 'zod';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';

export const STORAGE_ENV: readonly EnvVarDoc[] = [
  {
    name: 'MMIT_S3_ENDPOINT',
    description: 'S3 endpoint URL, e.g. http://minio:9000. Unset: the launcher starts the embedded server.',
  },
  {
    name: 'MMIT_S3_ACCESS_KEY',
    description:
      'S3 access key (required with MMIT_S3_ENDPOINT). The embedded server generates its keys once per data folder (`data/.s3.credentials.json`, mode 0600) and the launcher hands them to the services.',
  },
  { name: 'MMIT_S3_SECRET_KEY', description: 'S3 secret key (required with MMIT_S3_ENDPOINT).' },
  {
    name: 'MMIT_S3_BUCKET',
    default: 'mmit',
    description: 'Bucket holding all mmit data (at least 3 characters).',
  },
  { name: 'MMIT_S3_REGION', default: 'us-east-1', description: 'S3 region.' },
  {
    name: 'MMIT_S3_RETRIES',
    default: String(DEFAULT_RETRY.retries),
    description: 'Retries on transient S3 errors, with exponential backoff and jitter.',
  },
];

export const S3ConfigSchema = z.object({
  endpoint: z.url({ protocol: /^https?$/, message: 'MMIT_S3_ENDPOINT must be an http(s) URL' }),
  accessKey: z.string({ message: 'required: the access key of the S3 endpoint' }).min(1),
  secretKey: z.string({ message: 'required: the secret key of the S3 endpoint' }).min(1),
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
    message: 'bucket names are 3-63 characters of [a-z0-9.-]',
  }),
  region: z.string().min(1),
  retry: z.object({
    retries: z.number().int().min(0).max(20),
    baseDelayMs: z.number().int().positive(),
    maxDelayMs: z.number().int().positive(),
  }),
});
export type S3Config = z.infer<typeof S3ConfigSchema>;

export class StorageConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid object-storage configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'StorageConfigError';
  }
}

/** Whether the environment names an external S3 endpoint (if not, the embedded server is used). */
export function hasS3Endpoint(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.MMIT_S3_ENDPOINT);
}

/** Reads MMIT_S3_* from the environment; throws StorageConfigError naming each bad variable. */
export function s3ConfigFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  retry: RetryPolicy = DEFAULT_RETRY,
): S3Config {
  const parsed = S3ConfigSchema.safeParse({
    endpoint: env.MMIT_S3_ENDPOINT,
    accessKey: env.MMIT_S3_ACCESS_KEY || undefined,
    secretKey: env.MMIT_S3_SECRET_KEY || undefined,
    bucket: env.MMIT_S3_BUCKET || 'mmit',
    region: env.MMIT_S3_REGION || 'us-east-1',
    retry: { ...retry, retries: env.MMIT_S3_RETRIES ? Number(env.MMIT_S3_RETRIES) : retry.retries },
  });
  if (parsed.success) return parsed.data;
  const names: Record<string, string> = {
    endpoint: 'MMIT_S3_ENDPOINT',
    accessKey: 'MMIT_S3_ACCESS_KEY',
    secretKey: 'MMIT_S3_SECRET_KEY',
    bucket: 'MMIT_S3_BUCKET',
    region: 'MMIT_S3_REGION',
    retry: 'MMIT_S3_RETRIES',
  };
  throw new StorageConfigError(
    parsed.error.issues.map((i) => `${names[String(i.path[0])] ?? i.path.join('.')}: ${i.message}`),
  );
}
