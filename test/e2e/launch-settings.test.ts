// The launcher's ports and replica counts: flags and environment read with the documented
// precedence, bad values refused naming the setting, and a taken port reported by `pnpm start`
// and `pnpm demo` as one message naming the service, the port and the setting that moves it,
// before anything has started.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { launch } from '../../infra/launch.js';
import { parseLaunchArgs, planLaunch } from '../../infra/launch-settings.js';
import { LaunchError, PortInUseError } from '../../infra/ports.js';
import { SERVICES } from '../../infra/services.js';
import { repoRoot } from '../paths.js';

const ports = (plan: ReturnType<typeof planLaunch>) =>
  Object.fromEntries(Object.entries(plan.ports).map(([name, c]) => [name, c.port]));

test('launcher flags come out of the arguments; everything else stays, in order', () => {
  const { flags, rest } = parseLaunchArgs([
    '--json',
    '--seed',
    '2',
    '--port',
    '8070',
    '--replicas=features=3,ingest=2',
    '--ingest-port',
    '0',
    '--tour',
  ]);
  assert.deepEqual(flags, { gatewayPort: 8070, replicas: { features: 3, ingest: 2 }, ports: { ingest: 0 } });
  assert.deepEqual(rest, ['--json', '--seed', '2', '--tour']);
});

test('bad flag values are refused naming the flag and what it expects', () => {
  const cases: [string[], RegExp][] = [
    [['--port', '70000'], /^--port 70000: expected a port from 0 to 65535$/],
    [['--port', 'abc'], /^--port abc: expected a port number$/],
    [['--port-base', '65530'], /^--port-base 65530: .*the block takes 7 ports/],
    [['--replicas', 'console=2'], /'console' cannot have replicas; services behind the gateway: ingest/],
    [['--replicas', 'features=0'], /features=0: a count from 1 to 32/],
    [['--replicas', 'features'], /'features' is not <service>=<count>/],
    [['--synth-port'], /^--synth-port needs a value/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => parseLaunchArgs(argv),
      (err: Error) => err instanceof LaunchError && message.test(err.message),
      argv.join(' '),
    );
  }
});

test('without settings the stack takes 7070-7076, one replica each, checks every second', () => {
  const plan = planLaunch({}, {}, SERVICES);
  assert.equal(plan.gateway.port, 7070);
  assert.deepEqual(ports(plan), {
    ingest: 7071,
    synth: 7072,
    features: 7073,
    trainer: 7074,
    serve: 7075,
    console: 7076,
  });
  assert.deepEqual(Object.values(plan.replicas), [1, 1, 1, 1, 1, 1]);
  assert.equal(plan.healthIntervalMs, 1000);
});

test("a service's own flag beats its variable, which beats the port base", () => {
  const env = {
    MMIT_PORT_BASE: '8070',
    MMIT_SYNTH_PORT: '9000',
    MMIT_INGEST_PORT: '9001',
    MMIT_REPLICAS: 'serve=2',
  };
  const plan = planLaunch({ ports: { ingest: 9100 } }, env, SERVICES);
  assert.deepEqual(plan.gateway, {
    port: 8070,
    source: 'MMIT_PORT_BASE=8070',
    change: '--port <n> or MMIT_GATEWAY_PORT=<n>',
  });
  assert.deepEqual(ports(plan), {
    ingest: 9100,
    synth: 9000,
    features: 8073,
    trainer: 8074,
    serve: 8075,
    console: 8076,
  });
  assert.equal(plan.ports.ingest.source, '--ingest-port');
  assert.equal(plan.ports.synth.source, 'MMIT_SYNTH_PORT');
  assert.equal(plan.replicas.serve, 2);
  // A flag replaces the variable's whole list.
  assert.deepEqual(planLaunch({ replicas: { ingest: 3 } }, env, SERVICES).replicas.serve, 1);
  // Tests' free ports override the environment, not an explicit port.
  assert.deepEqual(ports(planLaunch({ freePorts: true, ports: { serve: 9200 } }, env, SERVICES)), {
    ingest: 0,
    synth: 0,
    features: 0,
    trainer: 0,
    serve: 9200,
    console: 0,
  });
});

test('settings that cannot work together are refused before anything starts', () => {
  const only = SERVICES.filter((s) => s.name === 'ingest' || s.name === 'synth');
  const cases: [Parameters<typeof planLaunch>, RegExp][] = [
    [
      [{}, { MMIT_INGEST_PORT: '7072' }, only],
      /ingest \(from MMIT_INGEST_PORT\) and synth \(from the default\) are both set to port 7072/,
    ],
    [[{ replicas: { features: 2 } }, {}, only], /--replicas: features is not started by this command/],
    [[{}, { MMIT_REPLICAS: 'serve=2' }, only], /MMIT_REPLICAS: serve is not started by this command/],
    [[{ ports: { trainer: 9000 } }, {}, only], /--trainer-port: trainer is not started by this command/],
    [[{}, { MMIT_GATEWAY_PORT: 'x' }, only], /^MMIT_GATEWAY_PORT=x: expected a port number$/],
    [[{}, { MMIT_GATEWAY_HEALTH_INTERVAL_MS: '10' }, only], /at least 50 ms/],
  ];
  for (const [args, message] of cases) {
    assert.throws(
      () => planLaunch(...args),
      (err: Error) => err instanceof LaunchError && message.test(err.message),
      message.source,
    );
  }
});

let held: Server;
let heldPort: number;
let dataDir: string;
before(async () => {
  held = createServer();
  await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
  heldPort = (held.address() as { port: number }).port;
  dataDir = await mkdtemp(join(tmpdir(), 'mmit-ports-'));
});
after(async () => {
  await new Promise((resolve) => held.close(resolve));
  await rm(dataDir, { recursive: true, force: true });
});

test('launch() names the service, the port and the settings that move it when the port is taken', async () => {
  await assert.rejects(
    launch({ services: ['ingest'], gatewayPort: 0, ports: { ingest: heldPort }, dataDir }),
    (err: Error) => {
      assert.ok(err instanceof PortInUseError);
      assert.equal(err.owner, 'ingest');
      assert.match(
        err.message,
        new RegExp(`^port ${heldPort} for ingest is already in use \\(port from --ingest-port\\)`),
      );
      assert.match(err.message, /--ingest-port <n> or MMIT_INGEST_PORT=<n>/);
      return true;
    },
  );
});

const run = promisify(execFile);

for (const [command, argv] of [
  ['pnpm start', ['infra/launch.ts']],
  ['pnpm demo', ['infra/demo.ts', '--', '--json', '--seed', '2']],
] as const) {
  test(`${command} reports a taken gateway port in one message, no stack trace, exit code 1`, async () => {
    const result = await run(process.execPath, ['--import', 'tsx', ...argv], {
      cwd: repoRoot,
      env: { ...process.env, MMIT_GATEWAY_PORT: String(heldPort) },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(`port ${heldPort} for the gateway is already in use \\(port from MMIT_GATEWAY_PORT\\)`),
    );
    assert.match(result.stderr, /--port <n> or MMIT_GATEWAY_PORT=<n>/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });
}
