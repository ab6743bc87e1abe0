// The deployment files stay deployable: infra/docker-compose.yml against the Compose
// Specification's JSON schema (the copy dclint ships) after compose's own interpolation, the
// Kubernetes manifests against the Kubernetes API schemas (kubernetes-models) and current with
// their generator, and both against what the services actually are: ports, health paths, the
// variables each reads, GPUs, secrets, the MinIO set. Last, the gateway spreads a service's
// requests over every replica its name stands for, and its container entry point reads its
// replicas from the environment. Offline and fast: no Docker, no cluster.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { parse, parseAllDocuments, parseDocument } from 'yaml';
import { startGateway } from '../infra/gateway.js';
import { gatewayConfigSpec, upstreamsOf } from '../infra/gateway-settings.js';
import {
  CONFIG_MAP,
  MINIO_IMAGE,
  manifestObjects,
  manifestsDir,
  renderManifests,
  SECRETS,
  WORKLOADS,
} from '../infra/k8s/manifests.js';
import { SERVICES } from '../infra/launch.js';
import { API_SERVICES } from '../packages/contracts/src/index.js';
import { ConfigError, describeConfig, loadConfig } from '../packages/service-kit/src/config.js';
import { STORAGE_ENV } from '../packages/storage/src/index.js';
import { SOURCES } from '../scripts/gen-docs.js';
import { consoleConfigSpec } from '../services/console/src/config.js';
import { repoRoot } from './paths.js';

const infra = join(repoRoot, 'infra');
const GPU_SERVICES = ['features', 'serve', 'trainer'];
const AUTOSCALED = ['features', 'ingest', 'serve'];
/** Every process the image runs: the launcher's services and the gateway. */
const PROCESSES = [
  ...SERVICES.map((s) => ({ name: s.name, port: s.port, readyPath: s.readyPath })),
  {
    name: 'gateway',
    port: 7070,
    readyPath: '/readyz',
  },
];

// ---------------------------------------------------------------- what each process reads

/**
 * Read by the job engine being added for issue 18 (packages/service-kit/src/jobs); listed here
 * until its config spec declares them, then this list can go.
 */
const JOB_ENGINE_VARS = ['MMIT_REPLICA_ID', 'MMIT_JOB_LEASE_SEC', 'MMIT_STORAGE_PATIENCE_SEC'];

function knownVariables(): Map<string, Set<string>> {
  const known = new Map<string, Set<string>>();
  const storage = STORAGE_ENV.map((v) => v.name);
  for (const source of SOURCES) {
    const own = source.describe().config.map((v) => v.name);
    known.set(source.name, new Set([...own, ...storage, ...JOB_ENGINE_VARS]));
  }
  known.set('console', new Set(describeConfig(consoleConfigSpec).map((v) => v.name)));
  known.set('gateway', new Set(describeConfig(gatewayConfigSpec).map((v) => v.name)));
  return known;
}
const KNOWN = knownVariables();

function assertKnown(service: string, names: Iterable<string>, where: string): void {
  const known = KNOWN.get(service);
  assert.ok(known, `${where}: ${service} is not an mmit process`);
  const unknown = [...names].filter((n) => n.startsWith('MMIT_') && !known.has(n));
  assert.deepEqual(unknown, [], `${where}: ${service} reads no such variable`);
}

// ---------------------------------------------------------------- docker compose

/** Compose's interpolation: $${VAR}, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}. */
function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g,
    (whole, name: string | undefined, op: string | undefined, arg: string | undefined) => {
      if (whole === '$$') return '$';
      const value = env[name!];
      const missing = op?.startsWith(':') ? !value : value === undefined;
      if (!missing) return value!;
      if (op?.endsWith('?')) throw new Error(`required variable ${name} is missing: ${arg}`);
      return op ? arg! : '';
    },
  );
}

function interpolateAll(node: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof node === 'string') return interpolate(node, env);
  if (Array.isArray(node)) return node.map((n) => interpolateAll(n, env));
  if (node && typeof node === 'object')
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateAll(v, env)]));
  return node;
}

interface ComposeService {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  deploy?: {
    replicas?: string | number;
    resources?: {
      reservations?: { devices?: { driver?: string; count?: number; capabilities?: string[] }[] };
    };
  };
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

const SECRETS_ENV = {
  MINIO_ROOT_USER: 'mmit-admin',
  MINIO_ROOT_PASSWORD: 'a-long-minio-password',
  MMIT_API_KEY: 'a-key-of-at-least-16-characters',
};

function loadCompose(env: Record<string, string | undefined> = SECRETS_ENV): ComposeFile {
  const text = readFileSync(join(infra, 'docker-compose.yml'), 'utf8');
  return interpolateAll(parse(text, { merge: true }), env) as ComposeFile;
}

// The schema names draft-07 by its https address, which Ajv does not know by that name; Ajv's
// default meta-schema is draft-07 itself, so the reference is dropped and the schema still checked.
const { $schema: _draft07, ...composeSchema } = JSON.parse(
  readFileSync(
    join(
      createRequire(import.meta.url).resolve('dclint/package.json'),
      '..',
      'schemas',
      'compose.schema.json',
    ),
    'utf8',
  ),
);

test('compose: the file validates against the Compose Specification schema, after interpolation', () => {
  const validate = new Ajv({ strict: false, allErrors: true }).compile(composeSchema);
  const valid = validate(loadCompose());
  assert.ok(valid, JSON.stringify(validate.errors, null, 2));
  // The schema is strict enough to catch a misspelt key: the same file with one fails.
  const broken = loadCompose();
  (broken.services.ingest as Record<string, unknown>).healtcheck = {};
  assert.equal(validate(broken), false, 'a misspelt service key passed the schema');
});

test('compose: the keys come from the environment, never from the file', () => {
  for (const name of Object.keys(SECRETS_ENV)) {
    const env: Record<string, string | undefined> = { ...SECRETS_ENV, [name]: undefined };
    assert.throws(() => loadCompose(env), new RegExp(`required variable ${name} is missing`));
  }
  const text = readFileSync(join(infra, 'docker-compose.yml'), 'utf8');
  for (const value of Object.values(SECRETS_ENV)) assert.ok(!text.includes(value));
});

test('compose: every process runs from the one image, by name, with a health check on its own port', () => {
  const { services } = loadCompose();
  for (const p of PROCESSES) {
    const s = services[p.name];
    assert.ok(s, `no compose service ${p.name}`);
    assert.deepEqual(s.command, [p.name], `${p.name}: the image's entry point takes the name`);
    assert.equal(s.image, 'mmit:local');
    assert.deepEqual(s.healthcheck?.test, [
      'CMD',
      'node',
      'infra/probe.mjs',
      `http://127.0.0.1:${p.port}${p.readyPath}`,
    ]);
    assertKnown(p.name, Object.keys(s.environment ?? {}), `compose ${p.name}`);
  }
  // The entry point knows every name it is given, and refuses others.
  const script = readFileSync(join(infra, 'run-service.sh'), 'utf8');
  for (const p of PROCESSES)
    assert.match(script, new RegExp(`\\b${p.name}\\b.*\\)`), `run-service.sh lacks ${p.name}`);
  const bogus = spawnSync('sh', [join(infra, 'run-service.sh'), 'bogus'], { encoding: 'utf8' });
  assert.equal(bogus.status, 64);
  assert.match(bogus.stderr, /usage: run-service\.sh/);
  for (const s of SERVICES)
    assert.equal(s.entry, `services/${s.name}/src/main.ts`, 'run-service.sh starts this path');
});

test('compose: services reach the bucket through the balancer, replicas publish no ports', () => {
  const { services } = loadCompose();
  for (const [name, s] of Object.entries(services)) {
    if (!s.environment?.MMIT_S3_ENDPOINT) continue;
    assert.equal(s.environment.MMIT_S3_ENDPOINT, 'http://s3:9000', name);
    assert.deepEqual(s.depends_on, { s3: { condition: 'service_healthy' } }, name);
    // Replicas of one service cannot share a host port: they are reached through the gateway.
    assert.ok(s.deploy?.replicas !== undefined, `${name} has a replica count`);
    assert.equal(s.ports, undefined, `${name} publishes a port`);
  }
  assert.equal(services.gateway?.environment?.MMIT_GATEWAY_INGEST_URL, 'http://ingest:7071');
  for (const api of API_SERVICES) {
    const port = SERVICES.find((s) => s.name === api)!.port;
    assert.equal(
      services.gateway?.environment?.[`MMIT_GATEWAY_${api.toUpperCase()}_URL`],
      `http://${api}:${port}`,
    );
  }
  assert.equal(services.console?.environment?.MMIT_GATEWAY_URL, 'http://gateway:7070');
});

test('compose: MinIO is four nodes of two drives, one pinned release, all behind the balancer', () => {
  const { services } = loadCompose();
  const nodes = Object.keys(services)
    .filter((n) => /^minio\d$/.test(n))
    .sort();
  assert.deepEqual(nodes, ['minio1', 'minio2', 'minio3', 'minio4']);
  for (const node of nodes) {
    const s = services[node]!;
    assert.equal(s.image, MINIO_IMAGE, 'compose and Kubernetes run the same MinIO');
    assert.match(String(s.command), /server .*http:\/\/minio\{1\.\.\.4\}\/data\{1\.\.\.2\}/);
    assert.deepEqual(
      s.volumes?.map((v) => v.split(':')[1]),
      ['/data1', '/data2'],
    );
  }
  const volumes = nodes.flatMap((n) => services[n]!.volumes!.map((v) => v.split(':')[0]));
  assert.equal(new Set(volumes).size, 8, 'every drive is its own volume');
  // Conditional writes behave as AWS S3's from this release on (docs/deployment.md).
  const release = /RELEASE\.(\d{4}-\d{2}-\d{2})/.exec(MINIO_IMAGE)?.[1];
  assert.ok(release && release >= '2025-09-07', `MinIO ${release} predates the conditional-write fixes`);
  const balancer = readFileSync(join(infra, 'minio-lb.conf'), 'utf8');
  const upstreams = [...balancer.matchAll(/^\s*server (minio\d):9000 /gm)].map((m) => m[1]);
  assert.deepEqual(upstreams, nodes);
  assert.match(balancer, /proxy_set_header Host \$http_host;/, 'SigV4 signs the Host header');
});

test('compose: features, trainer and serve reserve one NVIDIA GPU each; the cpu override drops exactly those', () => {
  const { services } = loadCompose();
  const withGpu = Object.entries(services)
    .filter(([, s]) => s.deploy?.resources?.reservations?.devices?.length)
    .map(([name]) => name)
    .sort();
  assert.deepEqual(withGpu, GPU_SERVICES);
  for (const name of withGpu) {
    assert.deepEqual(services[name]!.deploy!.resources!.reservations!.devices, [
      { driver: 'nvidia', count: 1, capabilities: ['gpu'] },
    ]);
  }
  const override = parseDocument(readFileSync(join(infra, 'docker-compose.cpu.yml'), 'utf8'));
  assert.deepEqual(override.errors, []);
  const reset = Object.keys((override.toJS() as ComposeFile).services).filter((name) => {
    const node = override.getIn(['services', name, 'deploy', 'resources', 'reservations', 'devices'], true);
    return (node as { tag?: string } | undefined)?.tag === '!reset';
  });
  assert.deepEqual(reset.sort(), GPU_SERVICES);
});

test('compose: dclint finds no errors in either file', () => {
  const dclint = join(repoRoot, 'node_modules', '.bin', 'dclint');
  const files = ['docker-compose.yml', 'docker-compose.cpu.yml'].map((f) => join(infra, f));
  const run = spawnSync(dclint, ['--quiet', '--color', 'false', ...files], { encoding: 'utf8' });
  assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
});

// ---------------------------------------------------------------- Kubernetes

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: unknown };

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/Ingress': Ingress,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

function committedObjects(): K8sObject[] {
  return readdirSync(manifestsDir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(manifestsDir, f), 'utf8')).map((d) => d.toJS() as K8sObject),
    );
}
const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);

// biome-ignore lint/suspicious/noExplicitAny: manifests are walked as plain parsed YAML
type Loose = any;

test('k8s: the manifests are current with infra/k8s/manifests.ts (run `npx tsx infra/k8s/manifests.ts`)', () => {
  const expected = renderManifests();
  const onDisk = readdirSync(manifestsDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  assert.deepEqual(onDisk, Object.keys(expected).sort());
  for (const [file, text] of Object.entries(expected)) {
    assert.equal(readFileSync(join(manifestsDir, file), 'utf8'), text, `infra/k8s/${file} is out of date`);
  }
  const kustomization = parse(expected['kustomization.yaml']!);
  assert.deepEqual(
    [...kustomization.resources].sort(),
    onDisk.filter((f) => f !== 'kustomization.yaml'),
  );
});

test('k8s: every object validates against the Kubernetes API schema', () => {
  const objects = committedObjects();
  assert.ok(objects.length > 20);
  for (const object of objects) {
    const Model = MODELS[`${object.apiVersion}/${object.kind}`];
    assert.ok(Model, `no schema for ${object.apiVersion} ${object.kind}`);
    assert.doesNotThrow(
      () => new Model(object as never).validate(),
      `${object.kind} ${object.metadata.name}`,
    );
  }
  // The validator does catch a broken object.
  const broken = structuredClone(byKind(objects, 'Deployment')[0]) as Loose;
  broken.spec.template.spec.containers[0].readinessProbe.httpGet.port = undefined;
  assert.throws(() => new Deployment(broken).validate(), /port/);
});

test('k8s: each process is a Deployment of the image by name, probed on its own health paths', () => {
  const objects = committedObjects();
  const deployments = byKind(objects, 'Deployment') as Loose[];
  assert.deepEqual(deployments.map((d) => d.metadata.name).sort(), PROCESSES.map((p) => p.name).sort());
  for (const p of PROCESSES) {
    const d = deployments.find((x) => x.metadata.name === p.name);
    const [c] = d.spec.template.spec.containers;
    assert.deepEqual(c.args, [p.name]);
    assert.deepEqual(c.ports, [{ name: 'http', containerPort: p.port }]);
    assert.equal(c.readinessProbe.httpGet.path, p.readyPath, `${p.name} readiness`);
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    const env = (c.env ?? []).map((e: { name: string }) => e.name);
    const fromConfig = c.envFrom ? Object.keys(byKind(objects, 'ConfigMap')[0]!.data as object) : [];
    assertKnown(p.name, [...env, ...fromConfig], `k8s ${p.name}`);
    // The Service in front selects exactly these pods, on the named port.
    const service = (byKind(objects, 'Service') as Loose[]).find((s) => s.metadata.name === p.name);
    assert.deepEqual(service.spec.selector, d.spec.template.metadata.labels);
    assert.deepEqual(service.spec.ports, [{ name: 'http', port: p.port, targetPort: 'http' }]);
  }
});

test('k8s: keys come from Secrets, replicas are named after their pods', () => {
  const deployments = byKind(committedObjects(), 'Deployment') as Loose[];
  for (const w of WORKLOADS) {
    const [c] = deployments.find((d) => d.metadata.name === w.name).spec.template.spec.containers;
    const env = new Map<string, Loose>((c.env ?? []).map((e: Loose) => [e.name, e]));
    for (const key of SECRETS.keys.keys) {
      const ref = env.get(key)?.valueFrom?.secretKeyRef;
      if (w.bucket) assert.deepEqual(ref, { name: SECRETS.keys.name, key }, `${w.name} ${key}`);
      else assert.equal(env.get(key), undefined, `${w.name} gets a key it does not use`);
    }
    // No literal value for anything secret-like.
    for (const [name, e] of env)
      assert.ok(!/KEY|SECRET|PASSWORD/.test(name) || e.valueFrom, `${w.name} ${name}`);
    const replicaId = env.get('MMIT_REPLICA_ID')?.valueFrom?.fieldRef?.fieldPath;
    assert.equal(replicaId, w.jobs ? 'metadata.name' : undefined, `${w.name} MMIT_REPLICA_ID`);
    assert.equal(c.envFrom?.[0]?.configMapRef?.name, w.bucket ? CONFIG_MAP : undefined);
  }
});

test('k8s: GPUs for features, trainer and serve only; autoscaling for ingest, features and serve', () => {
  const objects = committedObjects();
  const deployments = byKind(objects, 'Deployment') as Loose[];
  const gpu = deployments.filter(
    (d) => d.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu'] === 1,
  );
  assert.deepEqual(gpu.map((d) => d.metadata.name).sort(), GPU_SERVICES);
  for (const d of deployments) {
    const spec = d.spec.template.spec;
    const onGpu = GPU_SERVICES.includes(d.metadata.name);
    assert.deepEqual(
      spec.nodeSelector,
      onGpu ? { 'nvidia.com/gpu.present': 'true' } : undefined,
      d.metadata.name,
    );
    assert.equal(spec.tolerations?.[0]?.key, onGpu ? 'nvidia.com/gpu' : undefined, d.metadata.name);
  }
  const autoscalers = byKind(objects, 'HorizontalPodAutoscaler') as Loose[];
  assert.deepEqual(autoscalers.map((h) => h.spec.scaleTargetRef.name).sort(), AUTOSCALED);
  for (const h of autoscalers) {
    const target = deployments.find((d) => d.metadata.name === h.spec.scaleTargetRef.name);
    assert.equal(target.spec.replicas, undefined, `${target.metadata.name}: the autoscaler owns the count`);
    assert.ok(h.spec.minReplicas >= 1 && h.spec.maxReplicas > h.spec.minReplicas);
  }
});

test('k8s: MinIO is one erasure set of 4 pods x 2 volumes on separate machines; the Ingress names real Services', () => {
  const objects = committedObjects();
  const [minio] = byKind(objects, 'StatefulSet') as Loose[];
  assert.equal(minio.spec.replicas, 4);
  assert.equal(minio.spec.template.spec.containers[0].image, MINIO_IMAGE);
  assert.match(
    minio.spec.template.spec.containers[0].args.join(' '),
    /http:\/\/minio-\{0\.\.\.3\}\.minio-hl\..*\/data\{1\.\.\.2\}/,
  );
  assert.deepEqual(
    minio.spec.volumeClaimTemplates.map((v: Loose) => v.metadata.name),
    ['data1', 'data2'],
  );
  assert.equal(
    minio.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]
      .topologyKey,
    'kubernetes.io/hostname',
  );
  const services = byKind(objects, 'Service') as Loose[];
  assert.ok(services.some((s) => s.metadata.name === minio.spec.serviceName && s.spec.clusterIP === 'None'));
  const endpoint = (byKind(objects, 'ConfigMap')[0] as Loose).data.MMIT_S3_ENDPOINT;
  assert.ok(services.some((s) => endpoint === `http://${s.metadata.name}:${s.spec.ports[0].port}`));
  const [ingress] = byKind(objects, 'Ingress') as Loose[];
  for (const path of ingress.spec.rules[0].http.paths) {
    const backend = path.backend.service;
    const service = services.find((s) => s.metadata.name === backend.name);
    assert.ok(
      service?.spec.ports.some((p: Loose) => p.name === backend.port.name),
      `${path.path} -> ${backend.name}`,
    );
  }
});

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });

test('k8s: `kubectl kustomize` renders every object into the namespace', {
  skip: kubectl.status !== 0 && 'kubectl is not on PATH',
}, () => {
  const run = spawnSync('kubectl', ['kustomize', manifestsDir], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const rendered = parseAllDocuments(run.stdout).map((d) => d.toJS() as Loose);
  const expected = Object.values(manifestObjects()).flat() as Loose[];
  const key = (o: Loose) => `${o.kind}/${o.metadata.name}`;
  assert.deepEqual(rendered.map(key).sort(), expected.map(key).sort());
  for (const o of rendered) if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, 'mmit', key(o));
  const images = byKind(rendered, 'Deployment').map((d: Loose) => d.spec.template.spec.containers[0].image);
  assert.deepEqual([...new Set(images)], ['registry.example.com/mmit:0.1.0']);
});

// ---------------------------------------------------------------- the gateway over replicas

async function listen(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return (server.address() as { port: number }).port;
}

test("gateway: spreads a service's requests over every address its name resolves to", async () => {
  // Two "replicas" on one port at two loopback addresses, each answering (/readyz included) with
  // its own address, as compose's replicas of one service behind one name.
  const replica = (address: string) =>
    createServer((_req, res) => {
      res.end(address);
    });
  const first = replica('127.0.0.1');
  const port = await listen(first, '127.0.0.1', 0);
  const second = replica('127.0.0.2');
  await listen(second, '127.0.0.2', port);
  let addresses = ['127.0.0.1'];
  const gateway = await startGateway({
    port: 0,
    services: { ingest: [{ id: 'ingest', url: `http://ingest.replicas:${port}` }] },
    resolveAll: async (host) => {
      assert.equal(host, 'ingest.replicas');
      return addresses;
    },
    // Far apart: only checkNow() looks the name up again, so each step below is deterministic.
    resolveIntervalMs: 60_000,
  });
  try {
    await gateway.checkNow();
    const answer = async () => (await fetch(`${gateway.url}/v1/corpora`)).text();
    assert.deepEqual(await Promise.all([answer(), answer()]), ['127.0.0.1', '127.0.0.1']);
    addresses = ['127.0.0.2', '127.0.0.1']; // a replica added (docker compose up --scale)
    await gateway.checkNow();
    assert.deepEqual(
      gateway.status().ingest.map((r) => [r.id, r.url, r.ready]),
      [
        ['ingest@127.0.0.1', `http://127.0.0.1:${port}`, true],
        ['ingest@127.0.0.2', `http://127.0.0.2:${port}`, true],
      ],
    );
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push(await answer());
    assert.deepEqual(
      seen.filter((a) => a === '127.0.0.1').length,
      3,
      `both replicas take turns: ${seen.join(', ')}`,
    );
    assert.equal((await fetch(`${gateway.url}/readyz`)).status, 200);
    addresses = []; // every replica gone
    await gateway.checkNow();
    const gone = await fetch(`${gateway.url}/v1/corpora`);
    assert.equal(gone.status, 503);
    const problem = (await gone.json()) as { code: string; detail: string };
    assert.equal(problem.code, 'not_ready');
    assert.match(problem.detail, /http:\/\/ingest\.replicas:\d+ resolves to no address/);
  } finally {
    await gateway.close();
    first.close();
    second.close();
  }
});

test('gateway: MMIT_GATEWAY_<SERVICE>_URL takes comma-separated base URLs and names a bad one', () => {
  const config = loadConfig(gatewayConfigSpec, {
    MMIT_GATEWAY_INGEST_URL: 'http://ingest:7071, http://10.0.0.7:7071/',
  });
  assert.deepEqual(upstreamsOf(config).ingest, [
    { id: 'ingest:7071', url: 'http://ingest:7071' },
    { id: '10.0.0.7:7071', url: 'http://10.0.0.7:7071' },
  ]);
  assert.deepEqual(upstreamsOf(config).serve, [{ id: '127.0.0.1:7075', url: 'http://127.0.0.1:7075' }]);
  for (const [value, message] of [
    ['https://ingest:7071', /only http:\/\/ URLs/],
    ['http://ingest:7071/api', /only a host and port, e.g\. http:\/\/ingest:7071/],
    ['http://ingest:7071,http://ingest:7071', /ingest:7071 is listed twice/],
    ['ingest', /'ingest' is not a URL/],
    [',', /expected at least one URL/],
  ] as const) {
    assert.throws(
      () => loadConfig(gatewayConfigSpec, { MMIT_GATEWAY_SYNTH_URL: value }),
      (err: Error) =>
        err instanceof ConfigError &&
        /MMIT_GATEWAY_SYNTH_URL=/.test(err.message) &&
        message.test(err.message),
      value,
    );
  }
});

test('gateway: the container entry point serves the replicas its environment names', async () => {
  const replica = (name: string) =>
    createServer((_req, res) => {
      res.end(name);
    });
  const servers = [replica('one'), replica('two')];
  const ports = await Promise.all(servers.map((s) => listen(s, '127.0.0.1', 0)));
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/gateway-main.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      MMIT_GATEWAY_PORT: '0',
      MMIT_GATEWAY_INGEST_URL: ports.map((p) => `http://127.0.0.1:${p}`).join(','),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk;
        const found = /mmit gateway: (http:\/\/\S+)/.exec(output);
        if (found) resolve(found[1]);
      });
      child.once('exit', (code) => reject(new Error(`gateway-main exited with ${code}: ${output}`)));
    });
    // Its first checks run at start; both replicas are in the rotation once they pass.
    const answers: string[] = [];
    for (let i = 0; i < 20 && new Set(answers).size < 2; i++) {
      const res = await fetch(`${url}/v1/corpora`);
      if (res.status === 200) answers.push(await res.text());
      else await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(new Set(answers), new Set(['one', 'two']));
  } finally {
    child.kill();
    for (const s of servers) s.close();
  }
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'infra/gateway-main.ts'], {
    cwd: repoRoot,
    env: { ...process.env, MMIT_GATEWAY_PORT: 'x' },
    encoding: 'utf8',
  });
  assert.equal(bad.status, 1);
  assert.match(
    bad.stderr,
    /^mmit gateway: invalid configuration:\n {2}MMIT_GATEWAY_PORT="x": expected a port number\n$/,
  );
});
