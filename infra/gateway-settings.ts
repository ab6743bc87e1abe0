// The gateway's environment variables, in one table for both ways it runs: alone in a container
// (gateway-main.ts reads every one) and inside the launcher, which reads MMIT_GATEWAY_PORT and
// MMIT_GATEWAY_HEALTH_INTERVAL_MS beside its own flags (launch-settings.ts, with these schemas)
// and hands the gateway its replicas itself. docs/configuration.md is generated from this table.
import { z } from 'zod';
import { API_SERVICES, type ApiService } from '../packages/contracts/src/index.js';
import { type ConfigOf, type EnvVar, envVar } from '../packages/service-kit/src/config.js';
import { GATEWAY_DEFAULTS, type ReplicaTarget } from './gateway.js';
import { portNumber } from './ports.js';
import { DEFAULT_GATEWAY_PORT, SERVICES } from './services.js';

export const healthInterval = z.coerce
  .number({ error: 'expected milliseconds' })
  .int('expected whole milliseconds')
  .min(50, 'expected at least 50 ms');

const resolveInterval = z.coerce
  .number({ error: 'expected milliseconds' })
  .int('expected whole milliseconds')
  .min(100, 'expected at least 100 ms');

/**
 * `http://ingest:7071, http://10.0.0.7:7071` -> each URL's origin. Only the scheme, host and port
 * of a URL are used, so a path is refused rather than silently dropped; https is refused because
 * the gateway speaks plain HTTP to the services.
 */
const upstreamUrls = z.string().transform((text, ctx): string[] => {
  const origins: string[] = [];
  for (const [index, part] of text.split(',').entries()) {
    const raw = part.trim();
    const problem = (message: string) => ctx.addIssue({ code: 'custom', message, path: [index] });
    if (raw === '') continue;
    if (!URL.canParse(raw)) {
      problem(`'${raw}' is not a URL, e.g. http://ingest:7071`);
      continue;
    }
    const url = new URL(raw);
    if (url.protocol !== 'http:') problem(`'${raw}': only http:// URLs (the gateway speaks plain HTTP)`);
    else if (url.pathname !== '/' || url.search || url.hash || url.username)
      problem(`'${raw}': a base URL has only a host and port, e.g. ${url.origin}`);
    else if (origins.includes(url.origin)) problem(`'${raw}': ${url.host} is listed twice`);
    else origins.push(url.origin);
  }
  if (origins.length === 0 && ctx.issues.length === 0)
    ctx.addIssue({ code: 'custom', message: 'expected at least one URL' });
  return origins;
});

type UpstreamUrlsVar = EnvVar<z.ZodDefault<typeof upstreamUrls>>;

/** The service on loopback at its default port: where `pnpm start` puts its first replica. */
const loopbackDefault = (service: ApiService): string =>
  `http://127.0.0.1:${SERVICES.find((s) => s.name === service)!.port}`;

export const gatewayConfigSpec = {
  host: envVar(
    'MMIT_GATEWAY_HOST',
    z.string().min(1).default('127.0.0.1'),
    'Address the gateway listens on.',
  ),
  port: envVar(
    'MMIT_GATEWAY_PORT',
    portNumber.default(DEFAULT_GATEWAY_PORT),
    'Port of the gateway in front of every service (launcher flag: --port; 0 picks a free one).',
  ),
  healthIntervalMs: envVar(
    'MMIT_GATEWAY_HEALTH_INTERVAL_MS',
    healthInterval.default(GATEWAY_DEFAULTS.healthIntervalMs),
    "How often the gateway checks each replica's /readyz; a failing replica gets no requests until it passes again.",
  ),
  resolveIntervalMs: envVar(
    'MMIT_GATEWAY_RESOLVE_INTERVAL_MS',
    resolveInterval.default(GATEWAY_DEFAULTS.resolveIntervalMs),
    'How often the gateway looks up the host names in its service URLs again: an address that appears becomes a replica (once its /readyz passes), one that is gone leaves.',
  ),
  ...(Object.fromEntries(
    API_SERVICES.map((service) => [
      service,
      envVar(
        `MMIT_GATEWAY_${service.toUpperCase()}_URL`,
        upstreamUrls.default([loopbackDefault(service)]),
        `Base URLs of the ${service} service's replicas, comma-separated (the gateway alone, gateway-main.ts; the launcher passes its own). A host name stands for every address it resolves to, one replica each.`,
      ),
    ]),
  ) as Record<ApiService, UpstreamUrlsVar>),
};

export type GatewayConfig = ConfigOf<typeof gatewayConfigSpec>;

/** Service name -> its upstreams as startGateway takes them, each named by its host and port. */
export function upstreamsOf(config: GatewayConfig): Record<ApiService, ReplicaTarget[]> {
  return Object.fromEntries(
    API_SERVICES.map((service) => [service, config[service].map((url) => ({ id: new URL(url).host, url }))]),
  ) as Record<ApiService, ReplicaTarget[]>;
}
