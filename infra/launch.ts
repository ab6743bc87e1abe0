// `pnpm start`: everything on one machine. Without MMIT_S3_ENDPOINT it starts the embedded S3
// server (files under ./data/s3); then the gateway (7070) and every service as child processes,
// as many replicas of each as asked (`--replicas features=3,ingest=2`), waits for each /readyz,
// prints the URLs, and on Ctrl-C stops it all. Ports come from flags or the environment
// (launch-settings.ts); a taken port ends the start with a message naming the setting to change.
// `launch()` does the same for tests and the demo and returns a handle that can also kill and
// restart single replicas (chaos tests).
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_SERVICES } from '../packages/contracts/src/index.js';
import {
  Bucket,
  type EmbeddedS3,
  embeddedS3Config,
  type S3Config,
  s3ConfigFromEnv,
  startEmbeddedS3,
} from '../packages/storage/src/index.js';
import { type Gateway, type ReplicaTarget, startGateway } from './gateway.js';
import { type LaunchPlanOptions, parseLaunchArgs, planLaunch, START_USAGE } from './launch-settings.js';
import { assertPortsFree, freePort, LaunchError } from './ports.js';
import { loopbackUrl, type ReplicaInfo, replicaId, ServiceReplica } from './replica.js';
import { SERVICES } from './services.js';

export { LaunchError } from './ports.js';
export type { ReplicaInfo } from './replica.js';
export { SERVICES, type ServiceEntry } from './services.js';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

export interface LaunchOptions extends LaunchPlanOptions {
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
  /** Service name -> base URL of its first replica (direct, not through the gateway). */
  services: Record<string, string>;
  /** Process ids of each service's first replica as started (benchmarks read their CPU time and memory). */
  pids: Record<string, number>;
  s3Endpoint: string;
  /** The bucket every service uses (tests read what the services stored). */
  s3: S3Config;
  gateway: Gateway;
  /** Every replica (of `service`, when given) as it is now: id, url, and pid while it runs. */
  replicas(service?: string): ReplicaInfo[];
  /**
   * Sends `signal` (default SIGTERM) to one replica and resolves once it has exited; a replica
   * still starting is killed too (its pending restart() then rejects).
   */
  kill(service: string, index: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a replica again (stopping it first if it runs): same port and id; resolves once ready. */
  restart(service: string, index: number): Promise<ReplicaInfo>;
  /**
   * Fault injection (test/e2e/faults.test.ts): stops the embedded S3 server, as an outage would
   * (open connections cut; the services see refused connections). Throws when the store is
   * external (MMIT_S3_ENDPOINT).
   */
  stopStore(): Promise<void>;
  /** Starts the embedded S3 server again after stopStore(): same port, data folder and keys. */
  startStore(): Promise<void>;
  stop(): Promise<void>;
}

export async function launch(options: LaunchOptions = {}): Promise<Launched> {
  const env = { ...process.env, ...options.env };
  const only = options.services ? SERVICES.filter((s) => options.services!.includes(s.name)) : SERVICES;
  const plan = planLaunch(options, env, only);
  // Fixed ports are checked before anything starts (see ports.ts).
  await assertPortsFree([['the gateway', plan.gateway], ...Object.entries(plan.ports)]);

  let s3: EmbeddedS3 | undefined;
  let s3Dir = '';
  let gateway: Gateway | undefined;
  const replicas: ServiceReplica[] = [];
  const stop = async () => {
    await gateway?.close();
    await Promise.all(replicas.map((r) => r.stop().catch(() => undefined)));
    await s3?.stop().catch(() => undefined);
  };
  try {
    if (!env.MMIT_S3_ENDPOINT) {
      s3Dir = options.dataDir ?? join(repoRoot, 'data', 's3');
      s3 = await startEmbeddedS3({ dir: s3Dir, port: 0 });
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

    // The first replica of each service on its planned port (0: a free one), the others on free ones.
    const replicaPorts: Record<string, number[]> = {};
    for (const service of only) {
      replicaPorts[service.name] = [];
      for (let index = 0; index < plan.replicas[service.name]; index++) {
        const planned = index === 0 ? plan.ports[service.name].port : 0;
        replicaPorts[service.name].push(planned === 0 ? await freePort() : planned);
      }
    }
    // The gateway starts first: the trainer is given its URL, and it admits each replica once its
    // /readyz passes.
    const routed: Record<string, ReplicaTarget[]> = {};
    for (const service of only.filter((s) => (API_SERVICES as readonly string[]).includes(s.name))) {
      routed[service.name] = replicaPorts[service.name].map((port, index) => ({
        id: replicaId(service.name, index),
        url: loopbackUrl(port),
      }));
    }
    gateway = await startGateway({
      port: plan.gateway.port,
      services: routed,
      healthIntervalMs: plan.healthIntervalMs,
      portChoice: plan.gateway,
    });
    const running = new Set(only.map((s) => s.name));
    for (const service of only) {
      const serviceEnv = { ...env, ...service.env?.({ gatewayUrl: gateway.url, running }) };
      for (const [index, port] of replicaPorts[service.name].entries()) {
        replicas.push(new ServiceReplica(service, index, port, serviceEnv, options.inheritLogs ?? false));
      }
    }
    // All replicas start at once (each is a tsx process that takes seconds to boot).
    await Promise.all(replicas.map((r) => r.start(repoRoot)));
    await gateway.checkNow();
  } catch (err) {
    await stop();
    throw err;
  }

  const replicaOf = (service: string, index: number): ServiceReplica => {
    const replica = replicas.find((r) => r.service.name === service && r.index === index);
    if (!replica) {
      const ids = replicas.map((r) => r.id).join(', ');
      throw new Error(`no replica ${service}-${index} in this launch (replicas: ${ids})`);
    }
    return replica;
  };
  const firsts = replicas.filter((r) => r.index === 0);
  const openGateway = gateway;
  const embedded = () => {
    if (!s3)
      throw new Error('the store is external (MMIT_S3_ENDPOINT): only the embedded one can be stopped');
    return s3;
  };
  // The port and folder of the first start; the keys come from beside the folder (embeddedCredentials).
  const storePort = s3?.port;
  return {
    gatewayUrl: openGateway.url,
    services: Object.fromEntries(firsts.map((r) => [r.service.name, r.url])),
    pids: Object.fromEntries(firsts.map((r) => [r.service.name, r.info().pid!])),
    s3Endpoint: env.MMIT_S3_ENDPOINT!,
    s3: s3ConfigFromEnv(env),
    gateway: openGateway,
    replicas: (service) =>
      replicas.filter((r) => !service || r.service.name === service).map((r) => r.info()),
    kill: (service, index, signal) => replicaOf(service, index).kill(signal),
    restart: async (service, index) => {
      const replica = replicaOf(service, index);
      await replica.restart(repoRoot);
      await openGateway.checkNow();
      return replica.info();
    },
    stopStore: () => embedded().stop(),
    startStore: async () => {
      embedded();
      s3 = await startEmbeddedS3({ dir: s3Dir, port: storePort });
    },
    stop,
  };
}

function printRunning(launched: Launched): void {
  const lines = [
    `\nmmit is running:`,
    `  gateway   ${launched.gatewayUrl}`,
    `  s3        ${launched.s3Endpoint}`,
  ];
  for (const replica of launched.replicas()) {
    const name = replica.index === 0 ? replica.service : '';
    lines.push(`  ${name.padEnd(9)} ${replica.url.padEnd(24)} ${replica.id}, pid ${replica.pid}`);
  }
  console.log(`${lines.join('\n')}\n\nCtrl-C stops everything.`);
}

async function main(argv: string[]): Promise<void> {
  const { flags, rest } = parseLaunchArgs(argv);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(START_USAGE);
    return;
  }
  if (rest.length > 0) throw new LaunchError(`unknown arguments: ${rest.join(' ')}\n\n${START_USAGE}`);
  const launched = await launch({ ...flags, inheritLogs: true });
  printRunning(launched);
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

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2).filter((a) => a !== '--')).catch((err: unknown) => {
    if (!(err instanceof LaunchError)) throw err;
    console.error(`mmit start: ${err.message}`);
    process.exit(1);
  });
}
