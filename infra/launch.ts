// `pnpm start`: everything on one machine. Without MMIT_S3_ENDPOINT it starts the embedded S3
// server (files under ./data/s3); then every service as a child process, waits for each /readyz,
// puts the gateway on 7070 in front, prints the URLs, and on Ctrl-C stops it all in reverse order.
// `launch()` does the same for tests and the demo and returns a handle to stop it.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bucket, type EmbeddedS3, embeddedS3Config, startEmbeddedS3 } from '../packages/storage/src/index.js';
import { type Gateway, startGateway } from './gateway.js';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

/**
 * Every service: its entry point, default port, the path that says it is ready, how long its first
 * start may take (the console builds its web app on first start), and what it must know of the
 * others' URLs.
 */
export interface ServiceEntry {
  name: string;
  entry: string;
  port: number;
  readyPath: string;
  startTimeoutMs: number;
  env?: (urls: Record<string, string>, gatewayUrl: string) => NodeJS.ProcessEnv;
}

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
    env: (urls) => ({ MMIT_FEATURES_URL: urls.features }),
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
    env: (_urls, gatewayUrl) => ({ MMIT_GATEWAY_URL: gatewayUrl }),
  },
];

export interface LaunchOptions {
  /** Gateway port (default 7070; 0 = free port). */
  gatewayPort?: number;
  /** Use free ports for the services instead of their defaults (tests). */
  freePorts?: boolean;
  /** Where the embedded S3 server keeps its files (default ./data/s3). */
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Start only these services (default: all). */
  services?: string[];
  /** Forward service logs to this process's stdout/stderr (default: only when run as `pnpm start`). */
  inheritLogs?: boolean;
}

export interface Launched {
  gatewayUrl: string;
  services: Record<string, string>;
  /** Process ids of the service children (benchmarks read their CPU time and peak memory). */
  pids: Record<string, number>;
  s3Endpoint: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function waitReady(name: string, url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited with code ${child.exitCode} before it was ready`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} at ${url} was not ready after ${timeoutMs / 1000} s`);
}

function stopChild(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function launch(options: LaunchOptions = {}): Promise<Launched> {
  const env = { ...process.env, ...options.env };
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const fn of stops.reverse().splice(0)) await fn().catch(() => undefined);
  };
  try {
    let s3: EmbeddedS3 | undefined;
    if (!env.MMIT_S3_ENDPOINT) {
      s3 = await startEmbeddedS3({ dir: options.dataDir ?? join(repoRoot, 'data', 's3'), port: 0 });
      stops.push(() => s3!.stop());
      Object.assign(env, {
        MMIT_S3_ENDPOINT: s3.endpoint,
        MMIT_S3_ACCESS_KEY: s3.accessKey,
        MMIT_S3_SECRET_KEY: s3.secretKey,
      });
      // The bucket exists before any service starts, so no request depends on which service
      // created it first (serve only reads, and answered 404 when asked before the others).
      await new Bucket(embeddedS3Config(s3, env.MMIT_S3_BUCKET ?? 'mmit')).ensure();
    }
    // Locally, the services may import from anywhere in the checkout unless told otherwise.
    env.MMIT_INGEST_IMPORT_ROOTS ??= repoRoot;
    const only = options.services ? SERVICES.filter((s) => options.services!.includes(s.name)) : SERVICES;
    const gatewayPort = options.gatewayPort === 0 ? await freePort() : (options.gatewayPort ?? 7070);
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const services: Record<string, string> = {};
    for (const service of only) {
      services[service.name] = `http://127.0.0.1:${options.freePorts ? await freePort() : service.port}`;
    }
    // All services start at once (each is a tsx process that takes seconds to boot); the launcher
    // then waits for every one to be ready.
    const pids: Record<string, number> = {};
    const starting = only.map((service) => {
      const prefix = `MMIT_${service.name.toUpperCase()}`;
      const port = new URL(services[service.name]).port;
      const child = spawn(process.execPath, ['--import', 'tsx', service.entry], {
        cwd: repoRoot,
        env: {
          ...env,
          ...service.env?.(services, gatewayUrl),
          [`${prefix}_PORT`]: port,
          [`${prefix}_HOST`]: '127.0.0.1',
        },
        stdio: options.inheritLogs ? 'inherit' : 'ignore',
      });
      stops.push(() => stopChild(child));
      pids[service.name] = child.pid!;
      return waitReady(
        service.name,
        `${services[service.name]}${service.readyPath}`,
        child,
        service.startTimeoutMs,
      );
    });
    await Promise.all(starting);
    const gateway: Gateway = await startGateway({ port: gatewayPort, services });
    stops.push(() => gateway.close());
    return { gatewayUrl: gateway.url, services, pids, s3Endpoint: env.MMIT_S3_ENDPOINT!, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const launched = await launch({ inheritLogs: true });
  console.log(`\nmmit is running:\n  gateway  ${launched.gatewayUrl}\n  s3       ${launched.s3Endpoint}`);
  for (const [name, url] of Object.entries(launched.services)) console.log(`  ${name.padEnd(8)} ${url}`);
  console.log('\nCtrl-C stops everything.');
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping...');
    launched.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
