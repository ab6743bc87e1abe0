// Ports for the launcher: a free one when asked for 0, and a check that a fixed one can be bound
// before anything starts, so a taken port ends `pnpm start` with one message naming the service,
// the port and the setting that moves it, instead of a child's EADDRINUSE stack trace (or,
// worse, another stack's service answering this one's readiness probe on that port).
import { createServer } from 'node:net';
import { z } from 'zod';

/** A port setting as a flag or variable gives it (0 picks a free port). */
export const portNumber = z.coerce
  .number({ error: 'expected a port number' })
  .int('expected a whole port number')
  .min(0, 'expected a port from 0 to 65535')
  .max(65535, 'expected a port from 0 to 65535');

/** A problem the person starting mmit fixes by changing a setting: printed as is, without a stack. */
export class LaunchError extends Error {
  override name = 'LaunchError';
}

/** Where a port came from, in the words a person would use to change it. */
export interface PortChoice {
  port: number;
  /** E.g. `--ingest-port`, `MMIT_INGEST_PORT`, `--port-base 8070`, `the default`. */
  source: string;
  /** How to change it, e.g. `--ingest-port <n> or MMIT_INGEST_PORT=<n>`. */
  change: string;
}

export class PortInUseError extends LaunchError {
  override name = 'PortInUseError';
  constructor(
    readonly owner: string,
    readonly choice: PortChoice,
  ) {
    super(
      `port ${choice.port} for ${owner} is already in use (port from ${choice.source}).\n` +
        `Choose another with ${choice.change} (0 picks a free port), or move every port of the stack ` +
        'with --port-base <n> or MMIT_PORT_BASE=<n> (gateway on n, services on n+1..n+6).',
    );
  }
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether `port` can be listened on at `host` right now (false when something holds it). */
export async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  const server = createServer();
  const bound = await new Promise<boolean>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EADDRINUSE' ? resolve(false) : reject(err),
    );
    server.listen({ port, host, exclusive: true }, () => resolve(true));
  });
  if (bound) await new Promise<void>((resolve) => server.close(() => resolve()));
  return bound;
}

/** Throws PortInUseError for the first of `ports` (owner -> choice) that cannot be bound. */
export async function assertPortsFree(
  ports: Iterable<[string, PortChoice]>,
  host = '127.0.0.1',
): Promise<void> {
  for (const [owner, choice] of ports) {
    if (choice.port !== 0 && !(await portIsFree(choice.port, host))) throw new PortInUseError(owner, choice);
  }
}
