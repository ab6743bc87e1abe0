// One replica of a service: a child process on its own port with its own MMIT_REPLICA_ID
// (`<service>-<index>`). It keeps its port and id across restarts, so the gateway's rotation and
// any lease the replica held in the bucket name the same replica before and after.
import { type ChildProcess, spawn } from 'node:child_process';
import { LaunchError } from './ports.js';
import type { ServiceEntry } from './services.js';

export interface ReplicaInfo {
  service: string;
  index: number;
  /** MMIT_REPLICA_ID, e.g. `features-2`. */
  id: string;
  url: string;
  /** Process id of the running child; undefined while it is not running. */
  pid: number | undefined;
}

/** `features-2`: the replica's MMIT_REPLICA_ID and its name in the gateway. */
export function replicaId(service: string, index: number): string {
  return `${service}-${index}`;
}

export function loopbackUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}

export class ServiceStartError extends LaunchError {
  override name = 'ServiceStartError';
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function exitOf(child: ChildProcess): Promise<void> {
  return exited(child) ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function waitReady(id: string, url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited(child)) {
      const how = child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode}`;
      throw new ServiceStartError(`${id} exited with ${how} before it was ready`);
    }
    const ok = await fetch(url, { signal: AbortSignal.timeout(5_000) }).then(
      async (r) => {
        await r.body?.cancel();
        return r.ok;
      },
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new ServiceStartError(`${id} at ${url} was not ready after ${timeoutMs / 1000} s`);
}

export class ServiceReplica {
  readonly id: string;
  readonly url: string;
  private child: ChildProcess | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    readonly service: ServiceEntry,
    readonly index: number,
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
    private readonly inheritLogs: boolean,
  ) {
    this.id = replicaId(service.name, index);
    this.url = loopbackUrl(port);
  }

  get running(): boolean {
    return this.child !== undefined && !exited(this.child);
  }

  info(): ReplicaInfo {
    return {
      service: this.service.name,
      index: this.index,
      id: this.id,
      url: this.url,
      pid: this.running ? this.child?.pid : undefined,
    };
  }

  /** Spawns the child and resolves once its ready path answers 200. */
  start(repoRoot: string): Promise<void> {
    return this.serially(() => this.spawnAndWait(repoRoot));
  }

  /**
   * Sends `signal` to the child running now (one still starting included) and resolves once it
   * has exited; at once if none runs.
   */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || exited(child)) return;
    child.kill(signal);
    await exitOf(child);
  }

  /** SIGTERM (the service drains its requests), then SIGKILL after `timeoutMs`; no restart after. */
  stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true;
    return this.terminate(timeoutMs);
  }

  /**
   * Stops the child if it runs, then starts a new one on the same port with the same id and
   * waits until it is ready. Restarts of one replica run one after another.
   */
  restart(repoRoot: string): Promise<void> {
    return this.serially(async () => {
      await this.terminate(10_000);
      await this.spawnAndWait(repoRoot);
    });
  }

  private serially<T>(op: () => Promise<T>): Promise<T> {
    const result = this.queue.then(op);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async terminate(timeoutMs: number): Promise<void> {
    const child = this.child;
    if (!child || exited(child)) return;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.kill('SIGTERM');
    await exitOf(child);
    clearTimeout(timer);
  }

  private async spawnAndWait(repoRoot: string): Promise<void> {
    if (this.stopped) throw new ServiceStartError(`${this.id} was stopped`);
    const prefix = `MMIT_${this.service.name.toUpperCase()}`;
    const child = spawn(process.execPath, ['--import', 'tsx', this.service.entry], {
      cwd: repoRoot,
      env: {
        ...this.env,
        [`${prefix}_PORT`]: String(this.port),
        [`${prefix}_HOST`]: '127.0.0.1',
        MMIT_REPLICA_ID: this.id,
      },
      stdio: this.inheritLogs ? 'inherit' : 'ignore',
    });
    this.child = child;
    await waitReady(this.id, `${this.url}${this.service.readyPath}`, child, this.service.startTimeoutMs);
  }
}
