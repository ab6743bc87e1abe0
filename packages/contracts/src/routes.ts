// Which service answers which public API path: the one table the launcher's gateway and the
// console's proxy both route by. A prefix matches itself, `prefix/...` and `prefix?...`.

export const API_SERVICES = ['ingest', 'synth', 'features', 'trainer', 'serve'] as const;
export type ApiService = (typeof API_SERVICES)[number];

export const API_ROUTES: readonly { prefix: string; service: ApiService }[] = [
  { prefix: '/v1/corpora', service: 'ingest' },
  // Import jobs; the other services keep their jobs under their own prefix.
  { prefix: '/v1/jobs', service: 'ingest' },
  { prefix: '/v1/media', service: 'ingest' },
  // Resumable uploads of archives for imports.
  { prefix: '/v1/uploads', service: 'ingest' },
  { prefix: '/v1/datasets', service: 'synth' },
  { prefix: '/v1/features', service: 'features' },
  { prefix: '/v1/runs', service: 'trainer' },
  { prefix: '/v1/models', service: 'serve' },
  { prefix: '/v1/chat', service: 'serve' },
  { prefix: '/v1/completions', service: 'serve' },
];

/** The route whose prefix `path` falls under, if any. */
export function routeFor(path: string): { prefix: string; service: ApiService } | undefined {
  return API_ROUTES.find(
    (r) => path === r.prefix || path.startsWith(`${r.prefix}/`) || path.startsWith(`${r.prefix}?`),
  );
}
