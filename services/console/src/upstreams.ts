// Which service answers which API path, and at what URL. The browser sends every request to
// `/api/v1/...` on the console's own origin (so no CORS, and the API key stays in one place);
// this table picks the service by path prefix, the same split as the launcher's gateway.
import type { UpstreamService } from './config.js';

/** Path prefix -> service. A prefix matches itself, `prefix/...` and `prefix?...`. */
export const API_ROUTES: readonly { prefix: string; service: UpstreamService }[] = [
  { prefix: '/v1/corpora', service: 'ingest' },
  { prefix: '/v1/jobs', service: 'ingest' },
  { prefix: '/v1/media', service: 'ingest' },
  { prefix: '/v1/datasets', service: 'synth' },
  { prefix: '/v1/features', service: 'features' },
  { prefix: '/v1/runs', service: 'trainer' },
  { prefix: '/v1/models', service: 'serve' },
  { prefix: '/v1/chat', service: 'serve' },
  { prefix: '/v1/completions', service: 'serve' },
];

export interface Upstream {
  service: UpstreamService;
  /** Base URL the request goes to: the service's own, or the gateway. */
  baseUrl: string;
}

export class UnknownApiPathError extends Error {
  override name = 'UnknownApiPathError';
  constructor(readonly path: string) {
    super(`no service serves ${path}; API paths start with ${API_ROUTES.map((r) => r.prefix).join(', ')}`);
  }
}

/**
 * Resolves an API path (without the `/api` mount) to its upstream. Services with their own URL
 * configured are reached directly; the rest go through the gateway.
 */
export function upstreamFor(
  path: string,
  serviceUrls: Partial<Record<UpstreamService, string>>,
  gatewayUrl: string,
): Upstream {
  const route = API_ROUTES.find(
    (r) => path === r.prefix || path.startsWith(`${r.prefix}/`) || path.startsWith(`${r.prefix}?`),
  );
  if (!route) throw new UnknownApiPathError(path);
  return { service: route.service, baseUrl: serviceUrls[route.service] ?? gatewayUrl };
}
