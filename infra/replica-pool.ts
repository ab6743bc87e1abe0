// The gateway's view of one service's replicas: which are ready, and whose turn it is. Each
// replica's /readyz is polled on its own timer, so a replica that hangs delays no other's check;
// a failing check takes it out of the rotation and a passing one puts it back. The proxy also
// takes a replica out at once when a connection to it is refused: its process is gone, and
// waiting for the next check would send it more requests meanwhile.

export interface ReplicaTarget {
  /** E.g. `ingest-1`: the replica's MMIT_REPLICA_ID. */
  id: string;
  /** Base URL, e.g. http://127.0.0.1:7071. */
  url: string;
}

export interface ReplicaHealth extends ReplicaTarget {
  ready: boolean;
  /** Why it is out of the rotation (unset while ready). */
  reason?: string;
}

export interface HealthCheckOptions {
  /** Path each replica answers 200 on when it can take requests. */
  path: string;
  intervalMs: number;
  /**
   * How long one check may take. Longer than a service's own readiness checks (2 s each in
   * service-kit), so a replica merely busy (training on a 2-core machine) is not taken out.
   */
  timeoutMs: number;
}

/** Undefined when `url` answers 2xx within the time limit; otherwise why not. */
async function probe(url: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.ok ? undefined : `${new URL(url).pathname} answered ${res.status}`;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED') return 'connection refused';
    if ((err as Error).name === 'TimeoutError') return `no answer in ${timeoutMs} ms`;
    return cause?.code ?? (err as Error).message;
  }
}

export class ReplicaPool {
  private readonly replicas: ReplicaHealth[];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private turn = 0;
  private stopped = false;

  constructor(
    readonly service: string,
    targets: readonly ReplicaTarget[],
    private readonly health: HealthCheckOptions,
  ) {
    // Out of the rotation until a first check passes: a replica still starting refuses anyway.
    this.replicas = targets.map((t) => ({ ...t, ready: false, reason: 'not checked yet' }));
  }

  /** The next ready replica in turn that is not in `exclude` (those a request already tried). */
  pick(exclude: ReadonlySet<string> = new Set()): ReplicaTarget | undefined {
    const n = this.replicas.length;
    for (let i = 0; i < n; i++) {
      const replica = this.replicas[(this.turn + i) % n];
      if (replica.ready && !exclude.has(replica.id)) {
        this.turn = (this.turn + i + 1) % n;
        return { id: replica.id, url: replica.url };
      }
    }
    return undefined;
  }

  /** Out of the rotation until a check passes again. */
  markDown(id: string, reason: string): void {
    const replica = this.replicas.find((r) => r.id === id);
    if (replica) Object.assign(replica, { ready: false, reason });
  }

  snapshot(): ReplicaHealth[] {
    return this.replicas.map((r) => ({ ...r }));
  }

  /** Checks every replica now (and waits for the answers). */
  async checkNow(): Promise<void> {
    await Promise.all(this.replicas.map((r) => this.check(r)));
  }

  /** Starts each replica's periodic check. */
  start(): void {
    for (const replica of this.replicas) this.schedule(replica);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(replica: ReplicaHealth): void {
    if (this.stopped) return;
    const timer = setTimeout(async () => {
      await this.check(replica);
      this.schedule(replica);
    }, this.health.intervalMs);
    // The gateway's server keeps the process alive; a pending check alone should not.
    timer.unref();
    this.timers.set(replica.id, timer);
  }

  private async check(replica: ReplicaHealth): Promise<void> {
    const reason = await probe(`${replica.url}${this.health.path}`, this.health.timeoutMs);
    if (this.stopped) return;
    replica.ready = reason === undefined;
    replica.reason = reason;
  }
}
