// The gateway: one port (7070) in front of every service, routing by path prefix through the one
// table in contracts (API_ROUTES) that the console's proxy uses too. `pnpm start` runs it inside
// the launcher (launch.ts); in containers it runs alone (gateway-main.ts). A service's upstreams
// are base URLs, one per replica, and a URL whose host name stands for several addresses (compose
// replicas share one name) brings one replica per address: replica-pool.ts keeps those current
// and checks every replica's /readyz; requests take turns over the ready ones. It is a streaming
// reverse proxy: request and response bodies, SSE included, pass through untouched and unbuffered.
//
// Retries, and why they are safe:
// - A request's body starts flowing upstream only once the connection to a replica is open, so
//   when a connection is refused nothing has been delivered or consumed: the request, whatever
//   its method or body size, goes to the next ready replica (and the refusing one leaves the
//   rotation at once).
// - A connection reset or closed before any response byte is retried on another replica only for
//   GET and HEAD without a body: the replica may have acted on anything else before it died.
// - Once response headers have arrived, the request belongs to that replica; if it dies mid-body
//   the client's connection is cut, as a direct connection would have been.
import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { API_ROUTES, type Problem, problem, routeFor } from '../packages/contracts/src/index.js';
import { type PortChoice, PortInUseError } from './ports.js';
import {
  type ReplicaHealth,
  ReplicaPool,
  type ReplicaTarget,
  type ResolveAll,
  resolveWithSystem,
} from './replica-pool.js';

export type { ReplicaHealth, ReplicaTarget, ResolveAll } from './replica-pool.js';

export const GATEWAY_DEFAULTS = {
  healthIntervalMs: 1000,
  healthTimeoutMs: 5000,
  /** Often enough that replicas added or removed show up within seconds; rarely enough to spare DNS. */
  resolveIntervalMs: 5000,
} as const;

export interface GatewayOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Service name -> its upstreams; one whose URL names a host stands for each of its addresses. */
  services: Record<string, readonly ReplicaTarget[]>;
  /** How often each replica's /readyz is checked (default 1000 ms). */
  healthIntervalMs?: number;
  /** How long one check may take before the replica counts as failing (default 5000 ms). */
  healthTimeoutMs?: number;
  /** How often host names in upstream URLs are looked up again (default 5000 ms). */
  resolveIntervalMs?: number;
  /** How host names are looked up (default: the system resolver, every address). */
  resolveAll?: ResolveAll;
  /** For the message when the port is taken: where the port setting came from. */
  portChoice?: PortChoice;
}

export interface Gateway {
  url: string;
  port: number;
  /** Service name -> each replica and whether it is in the rotation. */
  status(): Record<string, ReplicaHealth[]>;
  /**
   * Looks every upstream host name up and checks every replica now, e.g. right after one was
   * (re)started, so it takes requests at once.
   */
  checkNow(): Promise<void>;
  close(): Promise<void>;
}

/** A problem the gateway itself answers, with the service it concerns when there is one. */
type GatewayProblem = Problem & { service?: string };

/**
 * Whether `path` is OpenAI's API: the serve service's routes, and any /v1 path no service
 * serves (an OpenAI client asking for an endpoint this stack lacks, e.g. /v1/embeddings, must be
 * able to read the error). The other services' /v1 routes speak problem+json.
 */
function speaksOpenAI(path: string): boolean {
  const pathname = path.split('?')[0];
  if (pathname !== '/v1' && !pathname.startsWith('/v1/')) return false;
  const route = routeFor(pathname);
  return !route || route.service === 'serve';
}

/** OpenAI's error type and code for the gateway's own problems (what its clients branch on). */
const OPENAI_ERRORS: Partial<Record<Problem['code'], { type: string; code: string }>> = {
  not_found: { type: 'not_found_error', code: 'unknown_url' },
  not_ready: { type: 'server_error', code: 'service_unavailable' },
  bad_gateway: { type: 'server_error', code: 'bad_gateway' },
};

/**
 * The one place the gateway's own errors are given their wire format: RFC 9457 problem+json,
 * except on OpenAI's paths, where it is OpenAI's `{error: {message, type, param, code}}` (what the
 * serve service itself answers there), so a client sees one error shape whichever hop failed.
 */
function errorResponse(path: string, body: GatewayProblem): { contentType: string; body: string } {
  if (speaksOpenAI(path)) {
    const mapped = OPENAI_ERRORS[body.code] ?? {
      type: body.status >= 500 ? 'server_error' : 'invalid_request_error',
      code: body.code,
    };
    const error = { message: body.detail, type: mapped.type, param: null, code: mapped.code };
    return { contentType: 'application/json', body: JSON.stringify({ error }) };
  }
  return { contentType: 'application/problem+json', body: JSON.stringify(body) };
}

function sendError(
  res: ServerResponse,
  path: string,
  body: GatewayProblem,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const formatted = errorResponse(path, body);
  res.writeHead(body.status, { ...headers, 'content-type': formatted.contentType });
  res.end(formatted.body);
}

const IDEMPOTENT_RETRY_METHODS = new Set(['GET', 'HEAD']);

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function errorCode(err: Error): string {
  return (err as NodeJS.ErrnoException).code ?? err.message;
}

/** Sends one client request to a replica of `pool`, moving to another as the rules above allow. */
function forward(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  pool: ReplicaPool,
  agent: Agent,
): void {
  const tried = new Set<string>();
  /** Each replica tried, why it failed, and whether the request had reached it. */
  const failures: { id: string; code: string; delivered: boolean }[] = [];
  let bodyStarted = false;
  let upstream: ReturnType<typeof request> | undefined;
  let clientGone = false;
  res.on('close', () => {
    if (res.writableFinished) return;
    clientGone = true;
    upstream?.destroy();
  });

  const giveUp = (): void => {
    req.resume();
    const tries = failures.map((f) => `${f.id} (${f.code})`).join(', ');
    if (failures.some((f) => f.delivered)) {
      const detail = `${pool.service} failed before answering: ${tries}`;
      sendError(res, path, { ...problem('bad_gateway', detail, { instance: path }), service: pool.service });
      return;
    }
    const replicas = pool.snapshot().map((r) => `${r.id}: ${r.reason ?? 'ready'}`);
    const detail = [
      `no ready replica of ${pool.service}`,
      ...(tries ? [`tried ${tries}`] : []),
      `replicas: ${replicas.join(', ') || 'none'}`,
      ...pool.problems(),
    ].join('; ');
    sendError(
      res,
      path,
      { ...problem('not_ready', detail, { instance: path }), service: pool.service },
      { 'retry-after': '1' },
    );
  };

  const attempt = (): void => {
    const replica = pool.pick(tried);
    if (!replica) {
      giveUp();
      return;
    }
    tried.add(replica.id);
    let connected = false;
    let answered = false;
    const outgoing = request(new URL(path, replica.url), { method: req.method, headers: req.headers, agent });
    upstream = outgoing;
    outgoing.once('socket', (socket) => {
      const send = () => {
        connected = true;
        if (bodyStarted) {
          outgoing.end();
          return;
        }
        bodyStarted = true;
        req.pipe(outgoing);
      };
      if (socket.connecting) socket.once('connect', send);
      else send();
    });
    outgoing.once('response', (answer) => {
      answered = true;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      pipeline(answer, res, () => undefined);
    });
    let failed = false;
    outgoing.on('error', (err) => {
      if (clientGone || failed) return;
      failed = true;
      if (answered) {
        res.destroy();
        return;
      }
      const code = errorCode(err);
      failures.push({ id: replica.id, code, delivered: connected });
      if (!connected) pool.markDown(replica.id, code === 'ECONNREFUSED' ? 'connection refused' : code);
      const retry = !connected || (IDEMPOTENT_RETRY_METHODS.has(req.method ?? '') && !hasBody(req));
      if (retry) attempt();
      else giveUp();
    });
  };
  attempt();
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const host = options.host ?? '127.0.0.1';
  const health = {
    path: '/readyz',
    intervalMs: options.healthIntervalMs ?? GATEWAY_DEFAULTS.healthIntervalMs,
    timeoutMs: options.healthTimeoutMs ?? GATEWAY_DEFAULTS.healthTimeoutMs,
  };
  const resolve = {
    all: options.resolveAll ?? resolveWithSystem,
    intervalMs: options.resolveIntervalMs ?? GATEWAY_DEFAULTS.resolveIntervalMs,
  };
  const pools = new Map(
    Object.entries(options.services).map(([name, targets]) => [
      name,
      new ReplicaPool(name, targets, health, resolve),
    ]),
  );
  const agent = new Agent({ keepAlive: true });
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    const pathname = path.split('?')[0];
    // The gateway keeps no state, so it is ready whenever it answers at all (a container's probe
    // asks this); whether a service is ready is that service's own /readyz, which its pool checks.
    if (pathname === '/healthz' || pathname === '/readyz') {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', service: 'gateway' }));
      return;
    }
    const route = routeFor(path);
    const pool = route ? pools.get(route.service) : undefined;
    if (!pool) {
      req.resume();
      const routes = API_ROUTES.filter((r) => pools.has(r.service)).map((r) => r.prefix);
      const detail = route
        ? `${route.service} is not running in this stack (it serves ${path})`
        : `no service serves ${path}; routes: ${routes.join(', ')}`;
      sendError(res, path, problem('not_found', detail, { instance: path }));
      return;
    }
    forward(req, res, path, pool, agent);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        const choice = options.portChoice ?? {
          port: options.port,
          source: 'the caller',
          change: '--port <n>',
        };
        reject(new PortInUseError('the gateway', choice));
      } else reject(err);
    });
    server.listen(options.port, host, resolve);
  });
  for (const pool of pools.values()) pool.start();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    status: () => Object.fromEntries([...pools].map(([name, pool]) => [name, pool.snapshot()])),
    checkNow: async () => {
      await Promise.all([...pools.values()].map((pool) => pool.checkNow()));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const pool of pools.values()) pool.stop();
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
