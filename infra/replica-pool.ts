// The gateway's view of one service's replicas: who they are, which are ready, and whose turn it
// is. A service's upstreams are base URLs (the launcher gives one per replica). A URL whose host
// is a name rather than an address stands for every address the name resolves to, one member of
// the pool each: docker compose answers a service's name with one address per replica, and Node's
// own lookup would give every request the first of them (its keep-alive pool then stays on the
// replica it reached first). The name is looked up again on a timer; an address that appears
// joins the pool, one that is no longer in the answer leaves it.
//
// Every member, given or resolved, is treated alike: its /readyz is polled on its own timer, so a
// member that hangs delays no other's check; a failing check takes it out of the rotation and a
// passing one puts it back. The proxy also takes a member out at once when a connection to it is
// refused: its process is gone, and waiting for the next check would send it more requests.
//
// When no member of a service is ready but some still answer (their readiness check fails or is
// slow, yet the process is there), requests go to those rather than nowhere: the panic routing of
// Envoy and other balancers. A replica merely busy (training on a 2-core machine answered its
// readiness check after the time limit) must not take its whole service away; only members whose
// connections are refused are never picked.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export interface ReplicaTarget {
  /**
   * E.g. `ingest-1` (the launcher: the replica's MMIT_REPLICA_ID). A member resolved from a host
   * name is `<upstream id>@<address>`.
   */
  id: string;
  /** Base URL, e.g. http://127.0.0.1:7071, or http://ingest:7071 for every address of `ingest`. */
  url: string;
}

export interface ReplicaHealth extends ReplicaTarget {
  ready: boolean;
  /** The process answered its last check or request at all (false: connection refused, or unknown yet). */
  alive: boolean;
  /** Why it is out of the rotation (unset while ready). */
  reason?: string;
}

/** Every address a host name stands for (one per replica behind it). */
export type ResolveAll = (hostname: string) => Promise<string[]>;

export const resolveWithSystem: ResolveAll = async (hostname) =>
  (await lookup(hostname, { all: true })).map((a) => a.address);

export interface HealthCheckOptions {
  /** Path each member answers 200 on when it can take requests. */
  path: string;
  intervalMs: number;
  /**
   * How long one check may take. Longer than a service's own readiness checks (2 s each in
   * service-kit), so a replica merely busy (training on a 2-core machine) is not taken out.
   */
  timeoutMs: number;
}

export interface ResolveOptions {
  all: ResolveAll;
  /** How often each host name is looked up again: new replicas get requests within this. */
  intervalMs: number;
}

/** `reason` is undefined when `url` answers 2xx within the time limit; `alive` when anything answered. */
async function probe(url: string, timeoutMs: number): Promise<{ reason?: string; alive: boolean }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.ok
      ? { alive: true }
      : { reason: `${new URL(url).pathname} answered ${res.status}`, alive: true };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED') return { reason: 'connection refused', alive: false };
    if ((err as Error).name === 'TimeoutError')
      return { reason: `no answer in ${timeoutMs} ms`, alive: true };
    return { reason: cause?.code ?? (err as Error).message, alive: false };
  }
}

/** The host name to look up in `url`; undefined when it already names one address. */
function nameToResolve(url: string): string | undefined {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  // `localhost` stays one member: resolved, it would add ::1 beside 127.0.0.1, and services
  // listen on one of them.
  return isIP(host) || host === 'localhost' ? undefined : host;
}

function withAddress(url: string, address: string): string {
  const resolved = new URL(url);
  resolved.hostname = isIP(address) === 6 ? `[${address}]` : address;
  return resolved.origin;
}

interface Member extends ReplicaHealth {
  /** The address its upstream's host name resolved to; unset when the URL names its own. */
  address?: string;
  timer?: NodeJS.Timeout;
  /** Left the pool (its address is gone from DNS): its checks stop and their answers are dropped. */
  gone: boolean;
}

interface Upstream {
  target: ReplicaTarget;
  /** Set when the target's URL names a host to look up; otherwise the URL is the one member. */
  hostname?: string;
  /**
   * The URL itself, or one member per address of `hostname` at the last lookup, sorted (so the
   * turns do not follow the order DNS answered in).
   */
  members: Member[];
  /** Why a named upstream has no members, or why its last lookup failed. */
  problem?: string;
  /** Lookups of one name run one after another, so two never add the same address twice. */
  lookups: Promise<void>;
  timer?: NodeJS.Timeout;
}

function member(target: ReplicaTarget, address?: string): Member {
  // Out of the rotation until a first check passes: a replica still starting refuses anyway.
  return { ...target, address, ready: false, alive: false, reason: 'not checked yet', gone: false };
}

export class ReplicaPool {
  private readonly upstreams: Upstream[];
  private turn = 0;
  private stopped = false;

  constructor(
    readonly service: string,
    targets: readonly ReplicaTarget[],
    private readonly health: HealthCheckOptions,
    private readonly resolve: ResolveOptions,
  ) {
    this.upstreams = targets.map((target) => {
      const hostname = nameToResolve(target.url);
      return {
        target,
        hostname,
        members: hostname ? [] : [member(target)],
        problem: hostname ? `${target.url} not looked up yet` : undefined,
        lookups: Promise.resolve(),
      };
    });
  }

  /**
   * The next ready member in turn that is not in `exclude` (those a request already tried); when
   * none is ready, the next one that is alive (panic routing, see the file comment).
   */
  pick(exclude: ReadonlySet<string> = new Set()): ReplicaTarget | undefined {
    return this.next((m) => m.ready, exclude) ?? this.next((m) => m.alive, exclude);
  }

  /** Out of the rotation, and not alive, until a check passes again (its connection was refused). */
  markDown(id: string, reason: string): void {
    const found = this.members().find((m) => m.id === id);
    if (found) Object.assign(found, { ready: false, alive: false, reason });
  }

  private next(eligible: (m: Member) => boolean, exclude: ReadonlySet<string>): ReplicaTarget | undefined {
    const members = this.members();
    const n = members.length;
    for (let i = 0; i < n; i++) {
      const candidate = members[(this.turn + i) % n];
      if (eligible(candidate) && !exclude.has(candidate.id)) {
        this.turn = (this.turn + i + 1) % n;
        return { id: candidate.id, url: candidate.url };
      }
    }
    return undefined;
  }

  snapshot(): ReplicaHealth[] {
    return this.members().map(({ id, url, ready, alive, reason }) => ({
      id,
      url,
      ready,
      alive,
      ...(reason ? { reason } : {}),
    }));
  }

  /** Named upstreams with no members or a failing lookup, in words (for the 503's detail). */
  problems(): string[] {
    return this.upstreams.flatMap((u) => (u.problem ? [u.problem] : []));
  }

  /** Looks every host name up again, then checks every member (and waits for the answers). */
  async checkNow(): Promise<void> {
    await Promise.all(this.upstreams.map((u) => this.lookUp(u)));
    await Promise.all(this.members().map((m) => this.check(m)));
  }

  /**
   * Starts the lookups and checks. Host names are looked up at once and the members found are
   * checked at once (they are replicas already running); members given by address are first
   * checked one interval from now (the launcher starts the gateway before its replicas and calls
   * checkNow() once they are up).
   */
  start(): void {
    for (const upstream of this.upstreams) {
      if (upstream.hostname) this.watchName(upstream, 0);
      else for (const m of upstream.members) this.watch(m, this.health.intervalMs);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const upstream of this.upstreams) {
      clearTimeout(upstream.timer);
      for (const m of upstream.members) clearTimeout(m.timer);
    }
  }

  private members(): Member[] {
    return this.upstreams.flatMap((u) => u.members);
  }

  private watch(m: Member, delayMs: number): void {
    if (this.stopped || m.gone) return;
    m.timer = setTimeout(async () => {
      await this.check(m);
      this.watch(m, this.health.intervalMs);
    }, delayMs);
    // The gateway's server keeps the process alive; a pending check alone should not.
    m.timer.unref();
  }

  private async check(m: Member): Promise<void> {
    const { reason, alive } = await probe(`${m.url}${this.health.path}`, this.health.timeoutMs);
    if (this.stopped || m.gone) return;
    m.ready = reason === undefined;
    m.alive = alive;
    m.reason = reason;
  }

  private watchName(upstream: Upstream, delayMs: number): void {
    if (this.stopped) return;
    upstream.timer = setTimeout(async () => {
      await this.lookUp(upstream);
      this.watchName(upstream, this.resolve.intervalMs);
    }, delayMs);
    upstream.timer.unref();
  }

  private lookUp(upstream: Upstream): Promise<void> {
    if (!upstream.hostname) return Promise.resolve();
    upstream.lookups = upstream.lookups.then(() => this.updateMembers(upstream, upstream.hostname!));
    return upstream.lookups;
  }

  /** Members for the addresses `hostname` has now: new ones join (checked at once), missing ones leave. */
  private async updateMembers(upstream: Upstream, hostname: string): Promise<void> {
    let addresses: string[];
    try {
      addresses = [...new Set(await this.resolve.all(hostname))].sort();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      // ENOTFOUND, ENODATA: the name is gone (every replica stopped), so its members go too. Any
      // other failure (no DNS server, a timeout) says nothing of the replicas: they stay, and
      // their own checks decide whether they get requests.
      if (code !== 'ENOTFOUND' && code !== 'ENODATA') {
        upstream.problem = `looking up ${hostname} failed (${code})`;
        return;
      }
      addresses = [];
    }
    if (this.stopped) return;
    const before = new Map(upstream.members.map((m) => [m.address, m]));
    upstream.members = addresses.map(
      (address) =>
        before.get(address) ??
        member(
          { id: `${upstream.target.id}@${address}`, url: withAddress(upstream.target.url, address) },
          address,
        ),
    );
    for (const [address, old] of before) {
      if (addresses.includes(address!)) continue;
      old.gone = true;
      clearTimeout(old.timer);
    }
    for (const m of upstream.members) if (!before.has(m.address)) this.watch(m, 0);
    upstream.problem = addresses.length === 0 ? `${upstream.target.url} resolves to no address` : undefined;
  }
}
