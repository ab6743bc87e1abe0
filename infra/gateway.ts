// The gateway: one port (7070) in front of every service, routing by path prefix. It is a plain
// streaming reverse proxy (bodies and SSE pass through untouched), routing by the one table in
// contracts (API_ROUTES) that the console's proxy uses too. `pnpm start` runs it in the launcher;
// in containers it runs alone (`gateway-main.ts`).
//
// A service may run as several replicas behind one name (docker compose gives every replica's
// address for the service's name). The gateway looks the name up itself and takes the addresses
// in turn, request by request: Node's own lookup would hand every request the same first address,
// and its keep-alive pool would then stay on the replica it reached first.
import { lookup } from 'node:dns/promises';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, isIP } from 'node:net';
import { API_ROUTES, routeFor } from '../packages/contracts/src/index.js';

export interface Gateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Every address a host name stands for (one per replica behind it). */
export type ResolveAll = (hostname: string) => Promise<string[]>;

const resolveWithSystem: ResolveAll = async (hostname) =>
  (await lookup(hostname, { all: true })).map((a) => a.address);

/**
 * How long a name's addresses are reused before the next lookup: replicas added or removed show
 * up within this, and a busy gateway does not ask DNS on every request.
 */
const DEFAULT_RESOLVE_TTL_MS = 5_000;

/** Round-robin over the replicas behind each upstream host name; IP literals pass through. */
export class ReplicaPicker {
  private readonly cache = new Map<string, { addresses: string[]; until: number; next: number }>();

  constructor(
    private readonly resolveAll: ResolveAll = resolveWithSystem,
    private readonly ttlMs = DEFAULT_RESOLVE_TTL_MS,
  ) {}

  async pick(hostname: string): Promise<string> {
    const bare = hostname.replace(/^\[|\]$/g, '');
    if (isIP(bare) || bare === 'localhost') return bare;
    let entry = this.cache.get(bare);
    if (!entry || entry.until <= Date.now()) {
      // Sorted, so the turn order does not depend on the order DNS answered in.
      const addresses = [...new Set(await this.resolveAll(bare))].sort();
      if (addresses.length === 0) throw new Error(`${bare} resolves to no address`);
      entry = { addresses, until: Date.now() + this.ttlMs, next: entry?.next ?? 0 };
      this.cache.set(bare, entry);
    }
    const address = entry.addresses[entry.next % entry.addresses.length]!;
    entry.next = (entry.next + 1) % entry.addresses.length;
    return address;
  }
}

function problemBody(status: number, code: string, detail: string): string {
  return JSON.stringify({
    type: `urn:mmit:problem:${code}`,
    code,
    title: code.replace(/_/g, ' '),
    status,
    detail,
  });
}

export async function startGateway(options: {
  port: number;
  host?: string;
  /** Service name -> base URL of a running service (a name may stand for several replicas). */
  services: Record<string, string>;
  /** How service host names are looked up (default: the system resolver). */
  resolveAll?: ResolveAll;
  resolveTtlMs?: number;
}): Promise<Gateway> {
  const host = options.host ?? '127.0.0.1';
  const picker = new ReplicaPicker(options.resolveAll, options.resolveTtlMs);
  const server: Server = createServer(async (req, res) => {
    const path = req.url ?? '/';
    // The gateway keeps no state, so it is ready whenever it answers at all; whether a service is
    // ready is that service's own /readyz.
    if (path === '/healthz' || path === '/readyz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', service: 'gateway' }));
      return;
    }
    const route = routeFor(path);
    const target = route ? options.services[route.service] : undefined;
    if (!target) {
      res.writeHead(404, { 'content-type': 'application/problem+json' });
      res.end(
        problemBody(
          404,
          'not_found',
          `no service serves ${path}; routes: ${API_ROUTES.map((r) => r.prefix).join(', ')}`,
        ),
      );
      return;
    }
    const unreachable = (reason: string) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(502, { 'content-type': 'application/problem+json' });
      res.end(problemBody(502, 'not_ready', `${route?.service} at ${target} did not answer: ${reason}`));
    };
    const base = new URL(target);
    let address: string;
    try {
      address = await picker.pick(base.hostname);
    } catch (err) {
      unreachable(err instanceof Error ? err.message : String(err));
      return;
    }
    const upstream = request(
      {
        protocol: base.protocol,
        host: address,
        port: base.port,
        path,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => unreachable(err.message));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
