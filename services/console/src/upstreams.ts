// Which service answers which API path, and at what URL. The browser sends every request to
// `/api/v1/...` on the console's own origin (so no CORS, and the API key stays in one place);
// contracts' API_ROUTES picks the service by path prefix, the table the launcher's gateway uses too.
import { API_ROUTES, routeFor } from '@mmit/contracts';
import type { UpstreamService } from './config.js';

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
  const route = routeFor(path);
  if (!route) throw new UnknownApiPathError(path);
  return { service: route.service, baseUrl: serviceUrls[route.service] ?? gatewayUrl };
}
