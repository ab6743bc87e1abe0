// The launcher's settings, from flags (`pnpm start --port 8070 --replicas features=3,ingest=2`,
// the same flags after `pnpm demo --`) and from the environment (MMIT_GATEWAY_PORT, MMIT_PORT_BASE,
// MMIT_REPLICAS, each service's MMIT_<SERVICE>_PORT, MMIT_GATEWAY_HEALTH_INTERVAL_MS), checked with
// zod at this edge. A bad value is a LaunchError naming the flag or variable and what it expects.
// Precedence for a port: its own flag, then its own variable, then --port-base/MMIT_PORT_BASE, then
// the default; a specific setting beats the block-wide one.

import { z } from 'zod';
import { API_SERVICES, type EnvVarDoc } from '../packages/contracts/src/index.js';
import { GATEWAY_DEFAULTS } from './gateway.js';
import { healthInterval } from './gateway-settings.js';
import { LaunchError, type PortChoice, portNumber } from './ports.js';
import { DEFAULT_GATEWAY_PORT, portVariable, SERVICES, type ServiceEntry } from './services.js';

export interface LaunchFlags {
  /** Gateway port (0 picks a free one). */
  gatewayPort?: number;
  /** Moves the whole block: the gateway on n, each service on n + (its default port - 7070). */
  portBase?: number;
  /** Port of each service's first replica (0 picks a free one). */
  ports?: Record<string, number>;
  /** How many replicas of each service (default 1); replicas after the first take free ports. */
  replicas?: Record<string, number>;
}

/**
 * The launcher's own variables, for docs/configuration.md. It also reads MMIT_GATEWAY_PORT and
 * MMIT_GATEWAY_HEALTH_INTERVAL_MS (documented with the gateway's, gateway-settings.ts) and each
 * service's MMIT_<SERVICE>_PORT (documented by the service).
 */
export const LAUNCHER_ENV: readonly EnvVarDoc[] = [
  {
    name: 'MMIT_PORT_BASE',
    description:
      "Moves every port at once: the gateway on n, the services on n+1..n+6 in the order ingest, synth, features, trainer, serve, console (flag: --port-base). A service's own MMIT_<SERVICE>_PORT or --<service>-port still wins.",
  },
  {
    name: 'MMIT_REPLICAS',
    description:
      "Replicas per service, e.g. features=3,ingest=2 (flag: --replicas); unnamed services run one. The first replica takes the service's port, the others free ones.",
  },
];

/** Services that may run as several replicas: those the gateway routes to (not the console). */
const REPLICABLE: readonly string[] = API_SERVICES;
const MAX_REPLICAS = 32;

const portBase = z.coerce
  .number({ error: 'expected a port number' })
  .int('expected a whole port number')
  .min(1, 'expected a port from 1 to 65529')
  .max(65535 - 6, 'expected a port from 1 to 65529 (the block takes 7 ports)');

/** `features=3,ingest=2` -> { features: 3, ingest: 2 }. */
const replicaCounts = z.string().transform((text, ctx) => {
  const counts: Record<string, number> = {};
  for (const part of text.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const match = /^([a-z]+)=(\d+)$/.exec(part);
    if (!match) {
      ctx.addIssue({ code: 'custom', message: `'${part}' is not <service>=<count>, e.g. features=3` });
      continue;
    }
    const [, service, count] = match;
    if (!REPLICABLE.includes(service)) {
      ctx.addIssue({
        code: 'custom',
        message: `'${service}' cannot have replicas; services behind the gateway: ${REPLICABLE.join(', ')}`,
      });
    } else if (Number(count) < 1 || Number(count) > MAX_REPLICAS) {
      ctx.addIssue({ code: 'custom', message: `${service}=${count}: a count from 1 to ${MAX_REPLICAS}` });
    } else counts[service] = Number(count);
  }
  return counts;
});

/** `raw` checked by `schema`, or a LaunchError `<setting>=<raw>: <what it expects>`. */
function check<S extends z.ZodType>(schema: S, raw: unknown, setting: string): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const shown = `${setting}${setting.startsWith('--') ? ' ' : '='}${typeof raw === 'string' ? raw : JSON.stringify(raw)}`;
  throw new LaunchError(`${shown}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
}

/** An environment variable, with an empty value counting as unset (as the services read theirs). */
function fromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  return env[name] === '' ? undefined : env[name];
}

const FLAG_HELP = `flags (each also an environment variable; see docs/configuration.md):
  --port <n>               gateway port (MMIT_GATEWAY_PORT, default 7070; 0: a free port)
  --port-base <n>          gateway on n, services on n+1..n+6 (MMIT_PORT_BASE)
  --<service>-port <n>     first replica of a service, e.g. --ingest-port 7171 (MMIT_INGEST_PORT)
  --replicas <list>        replicas per service, e.g. features=3,ingest=2 (MMIT_REPLICAS)`;

export const START_USAGE = `usage: pnpm start [flags]\n\nStarts every service behind the gateway and keeps them running (Ctrl-C stops).\n\n${FLAG_HELP}`;

function isLaunchFlag(name: string): boolean {
  return ['port', 'port-base', 'replicas', ...SERVICES.map((s) => `${s.name}-port`)].includes(name);
}

/**
 * Takes the launcher's flags out of `argv` (`--port 8070` or `--port=8070`); every other argument
 * stays in `rest`, in order, for the caller (the demo hands them to `mmit bench shapes`).
 */
export function parseLaunchArgs(argv: readonly string[]): { flags: LaunchFlags; rest: string[] } {
  const flags: LaunchFlags = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match || !isLaunchFlag(match[1])) {
      rest.push(arg);
      continue;
    }
    const name = match[1];
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new LaunchError(`--${name} needs a value\n\n${FLAG_HELP}`);
    if (name === 'port') flags.gatewayPort = check(portNumber, value, '--port');
    else if (name === 'port-base') flags.portBase = check(portBase, value, '--port-base');
    else if (name === 'replicas') flags.replicas = check(replicaCounts, value, '--replicas');
    else
      flags.ports = {
        ...flags.ports,
        [name.slice(0, -'-port'.length)]: check(portNumber, value, `--${name}`),
      };
  }
  return { flags, rest };
}

export interface LaunchPlanOptions extends LaunchFlags {
  /** Every service's first replica on a free port, whatever the environment says (tests). */
  freePorts?: boolean;
  /** How often the gateway checks each replica's /readyz (default MMIT_GATEWAY_HEALTH_INTERVAL_MS or 1000). */
  healthIntervalMs?: number;
}

export interface LaunchPlan {
  gateway: PortChoice;
  /** Service name -> its first replica's port (0: pick a free one). */
  ports: Record<string, PortChoice>;
  /** Service name -> how many replicas (every service started, at least 1). */
  replicas: Record<string, number>;
  healthIntervalMs: number;
}

/** Two settings that name the same port would leave one service unable to listen: say which. */
function assertDistinct(choices: [string, PortChoice][]): void {
  const seen = new Map<number, [string, PortChoice]>();
  for (const [owner, choice] of choices) {
    const other = choice.port === 0 ? undefined : seen.get(choice.port);
    if (other) {
      throw new LaunchError(
        `${other[0]} (from ${other[1].source}) and ${owner} (from ${choice.source}) are both set to port ${choice.port}; ` +
          `change one with ${choice.change}`,
      );
    }
    seen.set(choice.port, [owner, choice]);
  }
}

/** Settles every port and replica count of a launch of `services`, from options, then env, then defaults. */
export function planLaunch(
  options: LaunchPlanOptions,
  env: NodeJS.ProcessEnv,
  services: readonly ServiceEntry[],
): LaunchPlan {
  const baseFromEnv = fromEnv(env, 'MMIT_PORT_BASE');
  const base =
    options.portBase !== undefined
      ? { port: check(portBase, options.portBase, '--port-base'), source: `--port-base ${options.portBase}` }
      : baseFromEnv !== undefined
        ? { port: check(portBase, baseFromEnv, 'MMIT_PORT_BASE'), source: `MMIT_PORT_BASE=${baseFromEnv}` }
        : undefined;

  const choose = (
    flag: string,
    variable: string,
    fromOption: number | undefined,
    defaultPort: number,
  ): PortChoice => {
    const change = `${flag} <n> or ${variable}=<n>`;
    if (fromOption !== undefined) return { port: check(portNumber, fromOption, flag), source: flag, change };
    const raw = fromEnv(env, variable);
    if (raw !== undefined) return { port: check(portNumber, raw, variable), source: variable, change };
    if (base) return { port: base.port + defaultPort - DEFAULT_GATEWAY_PORT, source: base.source, change };
    return { port: defaultPort, source: 'the default', change };
  };

  const gateway = choose('--port', 'MMIT_GATEWAY_PORT', options.gatewayPort, DEFAULT_GATEWAY_PORT);
  const ports: Record<string, PortChoice> = {};
  for (const service of services) {
    const flag = `--${service.name}-port`;
    const variable = portVariable(service.name);
    ports[service.name] =
      options.freePorts && options.ports?.[service.name] === undefined
        ? { port: 0, source: 'freePorts', change: `${flag} <n> or ${variable}=<n>` }
        : choose(flag, variable, options.ports?.[service.name], service.port);
  }
  for (const name of Object.keys(options.ports ?? {})) {
    if (!ports[name]) throw new LaunchError(`--${name}-port: ${name} is not started by this command`);
  }
  assertDistinct([['the gateway', gateway], ...Object.entries(ports)]);

  const replicasFromEnv = fromEnv(env, 'MMIT_REPLICAS');
  const counts =
    options.replicas ??
    (replicasFromEnv !== undefined ? check(replicaCounts, replicasFromEnv, 'MMIT_REPLICAS') : {});
  const replicas: Record<string, number> = {};
  for (const service of services) replicas[service.name] = 1;
  for (const [name, count] of Object.entries(counts)) {
    const setting = options.replicas ? '--replicas' : 'MMIT_REPLICAS';
    // Counts given in code (launch({ replicas })) pass the same check as the flag's.
    check(replicaCounts, `${name}=${count}`, setting);
    if (!(name in replicas)) throw new LaunchError(`${setting}: ${name} is not started by this command`);
    replicas[name] = count;
  }

  const intervalFromEnv = fromEnv(env, 'MMIT_GATEWAY_HEALTH_INTERVAL_MS');
  const healthIntervalMs =
    options.healthIntervalMs !== undefined
      ? check(healthInterval, options.healthIntervalMs, 'healthIntervalMs')
      : intervalFromEnv !== undefined
        ? check(healthInterval, intervalFromEnv, 'MMIT_GATEWAY_HEALTH_INTERVAL_MS')
        : GATEWAY_DEFAULTS.healthIntervalMs;

  return { gateway, ports, replicas, healthIntervalMs };
}
