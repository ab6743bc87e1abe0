// The services the launcher starts: where each one's entry point is, its default port, the path
// that says it is ready, how long its first start may take, and what it must know of the others.
// The gateway's port and the services' defaults form one block (7070-7076) so that
// `--port-base <n>` can move the whole stack by keeping each service's offset from the gateway.

export interface ServiceEntry {
  name: string;
  entry: string;
  /** Default port of the first replica. */
  port: number;
  readyPath: string;
  startTimeoutMs: number;
  /** Environment this service needs from the launch: the gateway's URL and which services run. */
  env?: (launch: { gatewayUrl: string; running: ReadonlySet<string> }) => NodeJS.ProcessEnv;
}

export const DEFAULT_GATEWAY_PORT = 7070;

// Five services compile their TypeScript (tsx) at once on start: on a 2-core machine that is
// already busy this took over 60 s (measured: features not ready after 60 s while a test ran).
const SERVICE_START_MS = 180_000;

export const SERVICES: readonly ServiceEntry[] = [
  {
    name: 'ingest',
    entry: 'services/ingest/src/main.ts',
    port: 7071,
    readyPath: '/readyz',
    startTimeoutMs: SERVICE_START_MS,
  },
  {
    name: 'synth',
    entry: 'services/synth/src/main.ts',
    port: 7072,
    readyPath: '/readyz',
    startTimeoutMs: SERVICE_START_MS,
  },
  {
    name: 'features',
    entry: 'services/features/src/main.ts',
    port: 7073,
    readyPath: '/readyz',
    startTimeoutMs: SERVICE_START_MS,
  },
  {
    name: 'trainer',
    entry: 'services/trainer/src/main.ts',
    port: 7074,
    readyPath: '/readyz',
    startTimeoutMs: SERVICE_START_MS,
    // Through the gateway, so the trainer's calls are spread over the features replicas and
    // move off one that dies.
    env: ({ gatewayUrl, running }) => (running.has('features') ? { MMIT_FEATURES_URL: gatewayUrl } : {}),
  },
  {
    name: 'serve',
    entry: 'services/serve/src/main.ts',
    port: 7075,
    readyPath: '/readyz',
    startTimeoutMs: SERVICE_START_MS,
  },
  {
    name: 'console',
    entry: 'services/console/src/main.ts',
    port: 7076,
    readyPath: '/healthz',
    startTimeoutMs: 240_000,
    env: ({ gatewayUrl }) => ({ MMIT_GATEWAY_URL: gatewayUrl }),
  },
];

/** `MMIT_INGEST_PORT` for `ingest`: the variable each service reads its port from. */
export function portVariable(service: string): string {
  return `MMIT_${service.toUpperCase()}_PORT`;
}
