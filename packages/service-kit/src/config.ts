// Configuration from environment variables, declared once per service as a table of
// `{ variable, zod schema, description }`. The same table validates the environment at start-up
// (all problems reported together, each naming its variable) and documents it: describeConfig()
// gives the rows docs/ renders, defaults included.
import { DEFAULT_MAX_JSON_DEPTH, type EnvVarDoc } from '@mmit/contracts';
import { z } from 'zod';

export interface EnvVar<S extends z.ZodType = z.ZodType> {
  /** The environment variable, e.g. `MMIT_INGEST_PORT`. */
  name: string;
  schema: S;
  description: string;
  /** Secrets are never logged or echoed in errors. */
  secret?: boolean;
}

export type ConfigSpec = Record<string, EnvVar>;
export type ConfigOf<S extends ConfigSpec> = { [K in keyof S]: z.output<S[K]['schema']> };

export function envVar<S extends z.ZodType>(
  name: string,
  schema: S,
  description: string,
  options: { secret?: boolean } = {},
): EnvVar<S> {
  return { name, schema, description, ...options };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates every variable of the spec; throws ConfigError listing each bad one. */
export function loadConfig<S extends ConfigSpec>(spec: S, env: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, v] of Object.entries(spec)) {
    // An empty variable counts as unset, so `FOO= cmd` falls back to the default.
    const raw = env[v.name] === '' ? undefined : env[v.name];
    const parsed = v.schema.safeParse(raw);
    if (parsed.success) out[key] = parsed.data;
    else {
      const shown = raw === undefined ? 'unset' : v.secret ? '(secret)' : JSON.stringify(raw);
      problems.push(`${v.name}=${shown}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return out as ConfigOf<S>;
}

/** A parsed default as the variable would be written: lists and name=value maps comma-separated. */
function asWritten(value: unknown): string {
  if (Array.isArray(value)) return value.map(asWritten).join(',');
  if (value !== null && typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => `${k}=${asWritten(v)}`)
      .join(',');
  }
  return String(value);
}

/** The documentation rows for a spec: name, default (as it would be written), description. */
export function describeConfig(spec: ConfigSpec): EnvVarDoc[] {
  return Object.values(spec).map((v) => {
    const probe = v.schema.safeParse(undefined);
    const value = probe.success ? probe.data : undefined;
    // An empty list or map is no default at all: the row shows none.
    const written = value === undefined ? '' : asWritten(value);
    return {
      name: v.name,
      ...(written !== '' ? { default: written } : {}),
      description: v.description,
    };
  });
}

/** Parses `true/false/1/0/yes/no` (environment variables are strings). */
export const envBoolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** The variables every service reads, with its own name in them (`MMIT_INGEST_PORT`, ...). */
export function baseConfigSpec(serviceName: string, defaultPort: number) {
  const prefix = `MMIT_${serviceName.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`;
  return {
    host: envVar(
      `${prefix}_HOST`,
      z.string().min(1).default('127.0.0.1'),
      'Address to listen on (loopback by default).',
    ),
    port: envVar(
      `${prefix}_PORT`,
      z.coerce.number().int().min(0).max(65535).default(defaultPort),
      'Port to listen on (0 picks a free one).',
    ),
    apiKey: envVar(
      'MMIT_API_KEY',
      z.string().min(16, { message: 'use at least 16 characters' }).optional(),
      'When set, every request except /healthz, /readyz and /metrics needs `Authorization: Bearer <key>`; at least 16 characters (a shorter key stops the service at start-up).',
      { secret: true },
    ),
    logLevel: envVar(
      'MMIT_LOG_LEVEL',
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      'pino log level.',
    ),
    bodyLimit: envVar(
      'MMIT_JSON_BODY_LIMIT',
      z.string().default('1mb'),
      'Largest JSON request body (e.g. 1mb, 512kb).',
    ),
    jsonMaxDepth: envVar(
      'MMIT_JSON_MAX_DEPTH',
      z.coerce.number().int().min(2).max(10_000).default(DEFAULT_MAX_JSON_DEPTH),
      "Deepest nesting of arrays and objects in a JSON request body (and in an imported record's metadata); deeper is a 400.",
    ),
    shutdownTimeoutMs: envVar(
      'MMIT_SHUTDOWN_TIMEOUT_MS',
      z.coerce.number().int().nonnegative().default(10_000),
      'How long shutdown waits for in-flight requests before closing their connections.',
    ),
  };
}

export type BaseConfig = ConfigOf<ReturnType<typeof baseConfigSpec>>;
