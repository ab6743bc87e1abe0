// The Kubernetes manifests in infra/k8s, written from one table so the seven workloads cannot
// drift apart: `npx tsx infra/k8s/manifests.ts` rewrites the YAML beside this file, and
// test/deploy.test.ts checks that the YAML is current and valid. Apply with
// `kubectl apply -k infra/k8s` once the two Secrets exist (docs/deployment.md, Kubernetes).
//
// The objects are typed with kubernetes-models' interfaces, so a misspelt field fails the
// typecheck; the test validates each against the Kubernetes API schemas.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IService } from 'kubernetes-models/v1/Service';
import { stringify } from 'yaml';
import { API_SERVICES } from '../../packages/contracts/src/index.js';
import { SERVICES } from '../launch.js';

export const NAMESPACE = 'mmit';
/** kustomization.yaml's `images` entry rewrites this name to the registry's. */
export const IMAGE = 'mmit';
/** See infra/docker-compose.yml for why this release. */
export const MINIO_IMAGE = 'minio/minio:RELEASE.2025-09-07T16-13-09Z';
export const CONFIG_MAP = 'mmit-config';
/** Created by the operator, never committed: the keys each workload reads from it. */
export const SECRETS = {
  keys: { name: 'mmit-keys', keys: ['MMIT_API_KEY', 'MMIT_S3_ACCESS_KEY', 'MMIT_S3_SECRET_KEY'] },
  minio: { name: 'mmit-minio', keys: ['MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD'] },
} as const;

export interface Workload {
  /** Deployment, Service and container name, and run-service.sh's argument. */
  name: string;
  port: number;
  /** What says the pod may take traffic: /readyz, except the console, which has only /healthz. */
  readyPath: string;
  /** Replicas when not autoscaled. */
  replicas: number;
  /** Bounds for a CPU-driven HorizontalPodAutoscaler (the services whose load is requests or work units). */
  autoscale?: { min: number; max: number };
  /** One GPU per replica, on a GPU node. */
  gpu: boolean;
  /** Reads and writes the bucket: gets the shared config, the S3 keys and the API key. */
  bucket: boolean;
  /** Runs jobs under leases in the bucket: each replica is named after its pod. */
  jobs: boolean;
  /** Loads checkpoints: a cache volume at /cache (HF_HOME is /cache/huggingface in the image). */
  models: boolean;
  requests: { cpu: string; memory: string };
  memoryLimit: string;
  env: Record<string, string>;
}

const port = (name: string): number => {
  const service = SERVICES.find((s) => s.name === name);
  if (!service) throw new Error(`no service ${name} in infra/launch.ts`);
  return service.port;
};
const readyPath = (name: string) => SERVICES.find((s) => s.name === name)!.readyPath;

const service = (
  name: string,
  rest: Omit<Workload, 'name' | 'port' | 'readyPath' | 'env'> & { env?: Record<string, string> },
): Workload => ({ name, port: port(name), readyPath: readyPath(name), env: {}, ...rest });

export const WORKLOADS: readonly Workload[] = [
  service('ingest', {
    replicas: 2,
    autoscale: { min: 2, max: 8 },
    gpu: false,
    bucket: true,
    jobs: true,
    models: false,
    requests: { cpu: '1', memory: '1Gi' },
    memoryLimit: '4Gi',
  }),
  service('synth', {
    replicas: 2,
    gpu: false,
    bucket: true,
    jobs: true,
    models: false,
    requests: { cpu: '500m', memory: '512Mi' },
    memoryLimit: '2Gi',
  }),
  service('features', {
    replicas: 1,
    autoscale: { min: 1, max: 4 },
    gpu: true,
    bucket: true,
    jobs: true,
    models: true,
    requests: { cpu: '2', memory: '8Gi' },
    memoryLimit: '16Gi',
    env: { MMIT_FEATURES_EP: 'webgpu' },
  }),
  service('trainer', {
    replicas: 1,
    gpu: true,
    bucket: true,
    jobs: true,
    models: true,
    requests: { cpu: '2', memory: '16Gi' },
    memoryLimit: '32Gi',
    // A run's spec picks its execution provider (`ep`); webgpu uses this pod's GPU.
    env: { MMIT_FEATURES_URL: `http://features:${port('features')}` },
  }),
  service('serve', {
    replicas: 1,
    autoscale: { min: 1, max: 4 },
    gpu: true,
    bucket: true,
    jobs: false,
    models: true,
    requests: { cpu: '2', memory: '8Gi' },
    memoryLimit: '16Gi',
    env: { MMIT_SERVE_EP: 'webgpu' },
  }),
  service('console', {
    replicas: 2,
    gpu: false,
    bucket: false,
    jobs: false,
    models: false,
    requests: { cpu: '100m', memory: '128Mi' },
    memoryLimit: '512Mi',
    env: { MMIT_GATEWAY_URL: 'http://gateway:7070' },
  }),
  {
    name: 'gateway',
    port: 7070,
    readyPath: '/readyz',
    replicas: 2,
    gpu: false,
    bucket: false,
    jobs: false,
    models: false,
    requests: { cpu: '200m', memory: '128Mi' },
    memoryLimit: '512Mi',
    env: Object.fromEntries(
      API_SERVICES.map((s) => [`MMIT_GATEWAY_${s.toUpperCase()}_URL`, `http://${s}:${port(s)}`]),
    ),
  },
];

const labels = (name: string) => ({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'mmit' });

/** Where the GPU nodes are: the label NVIDIA's GPU feature discovery sets, and their usual taint. */
const GPU_NODE = {
  nodeSelector: { 'nvidia.com/gpu.present': 'true' },
  tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
} satisfies Partial<IPodSpec>;

const secretEnv = (secret: { name: string }, key: string): IEnvVar => ({
  name: key,
  valueFrom: { secretKeyRef: { name: secret.name, key } },
});

function container(w: Workload): IContainer {
  const env: IEnvVar[] = [
    ...(w.jobs ? [{ name: 'MMIT_REPLICA_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] : []),
    ...(w.bucket ? SECRETS.keys.keys.map((key) => secretEnv(SECRETS.keys, key)) : []),
    ...Object.entries(w.env).map(([name, value]) => ({ name, value })),
  ];
  const http = (path: string) => ({ httpGet: { path, port: 'http' }, timeoutSeconds: 3 });
  return {
    name: w.name,
    image: IMAGE,
    args: [w.name],
    ports: [{ name: 'http', containerPort: w.port }],
    ...(w.bucket ? { envFrom: [{ configMapRef: { name: CONFIG_MAP } }] } : {}),
    env,
    // tsx compiles the sources on first start (minutes on a small node): liveness waits for it.
    startupProbe: { ...http('/healthz'), periodSeconds: 5, failureThreshold: 60 },
    livenessProbe: { ...http('/healthz'), periodSeconds: 10, failureThreshold: 3 },
    readinessProbe: { ...http(w.readyPath), periodSeconds: 5, failureThreshold: 2 },
    resources: {
      requests: w.requests,
      limits: { memory: w.memoryLimit, ...(w.gpu ? { 'nvidia.com/gpu': 1 } : {}) },
    },
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    ...(w.models ? { volumeMounts: [{ name: 'model-cache', mountPath: '/cache' }] } : {}),
  };
}

function deployment(w: Workload): IDeployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: w.name, labels: labels(w.name) },
    spec: {
      // An autoscaled Deployment leaves its count to the autoscaler: a count here would be
      // reapplied by every `kubectl apply`, undoing the autoscaler's.
      ...(w.autoscale ? {} : { replicas: w.replicas }),
      selector: { matchLabels: labels(w.name) },
      // A GPU service has no spare GPU to surge onto: it replaces one pod at a time instead.
      strategy: {
        type: 'RollingUpdate',
        rollingUpdate: w.gpu ? { maxSurge: 0, maxUnavailable: 1 } : { maxSurge: 1, maxUnavailable: 0 },
      },
      template: {
        metadata: { labels: labels(w.name) },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
          // Services drain in-flight requests on SIGTERM; a job this pod held moves to another
          // replica when its lease (MMIT_JOB_LEASE_SEC) runs out.
          terminationGracePeriodSeconds: 30,
          // Replicas on different machines where there are any, so one node going down leaves some.
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: labels(w.name) },
            },
          ],
          ...(w.gpu ? GPU_NODE : {}),
          containers: [container(w)],
          // Per-pod cache: each replica fetches what it loads once. A ReadWriteMany volume shared
          // by all replicas (or checkpoints baked into a volume) avoids the repeat downloads.
          ...(w.models ? { volumes: [{ name: 'model-cache', emptyDir: {} }] } : {}),
        },
      },
    },
  };
}

function clusterService(w: Workload): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: w.name, labels: labels(w.name) },
    spec: { selector: labels(w.name), ports: [{ name: 'http', port: w.port, targetPort: 'http' }] },
  };
}

function autoscaler(w: Workload, bounds: { min: number; max: number }): IHorizontalPodAutoscaler {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: w.name, labels: labels(w.name) },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: w.name },
      minReplicas: bounds.min,
      maxReplicas: bounds.max,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ],
      // Scale down slowly: a replica that goes away hands its jobs on only after their leases expire.
      behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
    },
  };
}

// --- MinIO: 4 pods x 2 volumes = one erasure set of 8 drives (default parity EC:4): reads and
// writes go on with one pod down; with two down, reads go on and writes stop.
const MINIO_NODES = 4;
const minioLabels = labels('minio');

const minioServices: IService[] = [
  {
    apiVersion: 'v1',
    kind: 'Service',
    // Stable per-pod names (minio-0.minio-hl, ...), published before the pods are ready because
    // the nodes must find each other to become ready at all.
    metadata: { name: 'minio-hl', labels: minioLabels },
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: minioLabels,
      ports: [{ name: 's3', port: 9000, targetPort: 's3' }],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    // The services' one S3 endpoint (MMIT_S3_ENDPOINT): any node answers any request.
    metadata: { name: 'minio', labels: minioLabels },
    spec: { selector: minioLabels, ports: [{ name: 's3', port: 9000, targetPort: 's3' }] },
  },
];

const minioStatefulSet: IStatefulSet = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'minio', labels: minioLabels },
  spec: {
    serviceName: 'minio-hl',
    replicas: MINIO_NODES,
    // All nodes start together: none is ready until a quorum of them is up.
    podManagementPolicy: 'Parallel',
    selector: { matchLabels: minioLabels },
    template: {
      metadata: { labels: minioLabels },
      spec: {
        securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
        // One node per machine, or erasure coding protects against disks but not machines.
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: minioLabels } },
            ],
          },
        },
        containers: [
          {
            name: 'minio',
            image: MINIO_IMAGE,
            args: [
              'server',
              '--console-address',
              ':9001',
              `http://minio-{0...${MINIO_NODES - 1}}.minio-hl.$(POD_NAMESPACE).svc.cluster.local/data{1...2}`,
            ],
            env: [
              { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              ...SECRETS.minio.keys.map((key) => secretEnv(SECRETS.minio, key)),
            ],
            ports: [
              { name: 's3', containerPort: 9000 },
              { name: 'console', containerPort: 9001 },
            ],
            livenessProbe: { httpGet: { path: '/minio/health/live', port: 's3' }, periodSeconds: 10 },
            readinessProbe: { httpGet: { path: '/minio/health/ready', port: 's3' }, periodSeconds: 5 },
            resources: { requests: { cpu: '500m', memory: '2Gi' }, limits: { memory: '8Gi' } },
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            volumeMounts: [
              { name: 'data1', mountPath: '/data1' },
              { name: 'data2', mountPath: '/data2' },
            ],
          },
        ],
      },
    },
    volumeClaimTemplates: ['data1', 'data2'].map((name) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '100Gi' } } },
    })),
  },
};

const minioDisruptionBudget: IPodDisruptionBudget = {
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  metadata: { name: 'minio', labels: minioLabels },
  // Node drains take one MinIO pod at a time: the set keeps write quorum throughout.
  spec: { maxUnavailable: 1, selector: { matchLabels: minioLabels } },
};

const namespace: INamespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } };

const config: IConfigMap = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: CONFIG_MAP, labels: { 'app.kubernetes.io/part-of': 'mmit' } },
  // What every bucket service shares; the keys are in the mmit-keys Secret.
  data: {
    MMIT_S3_ENDPOINT: 'http://minio:9000',
    MMIT_S3_BUCKET: 'mmit',
    MMIT_LOG_LEVEL: 'info',
    MMIT_JOB_LEASE_SEC: '30',
  },
};

const ingress: IIngress = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: {
    name: 'mmit',
    labels: { 'app.kubernetes.io/part-of': 'mmit' },
    // For ingress-nginx (other controllers ignore these): uploads of any size, event streams
    // unbuffered and kept open as long as a job runs.
    annotations: {
      'nginx.ingress.kubernetes.io/proxy-body-size': '0',
      'nginx.ingress.kubernetes.io/proxy-buffering': 'off',
      'nginx.ingress.kubernetes.io/proxy-request-buffering': 'off',
      'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
      'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600',
    },
  },
  spec: {
    rules: [
      {
        http: {
          paths: [
            // Every API path starts with /v1 (contracts' API_ROUTES); the gateway routes within it.
            {
              path: '/v1',
              pathType: 'Prefix',
              backend: { service: { name: 'gateway', port: { name: 'http' } } },
            },
            {
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: 'console', port: { name: 'http' } } },
            },
          ],
        },
      },
    ],
  },
};

/** Every manifest file: name -> the objects in it, in apply order. */
export function manifestObjects(): Record<string, object[]> {
  const files: Record<string, object[]> = {
    'namespace.yaml': [namespace],
    'config.yaml': [config],
    'minio.yaml': [...minioServices, minioStatefulSet, minioDisruptionBudget],
  };
  for (const w of WORKLOADS) {
    files[`${w.name}.yaml`] = [
      deployment(w),
      clusterService(w),
      ...(w.autoscale ? [autoscaler(w, w.autoscale)] : []),
    ];
  }
  files['ingress.yaml'] = [ingress];
  return files;
}

const GENERATED =
  '# Generated by infra/k8s/manifests.ts (npx tsx infra/k8s/manifests.ts): edit that, not this.\n';

/** The files this writes: every manifest and the kustomization that lists them. */
export function renderManifests(): Record<string, string> {
  const out: Record<string, string> = {};
  const objects = manifestObjects();
  for (const [file, docs] of Object.entries(objects)) {
    out[file] = GENERATED + docs.map((doc) => stringify(doc, { lineWidth: 0 })).join('---\n');
  }
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    namespace: NAMESPACE,
    resources: Object.keys(objects),
    // A placeholder: a deployment's overlay points it at its registry (docs/deployment.md).
    images: [{ name: IMAGE, newName: 'registry.example.com/mmit', newTag: '0.1.0' }],
  };
  out['kustomization.yaml'] = GENERATED + stringify(kustomization, { lineWidth: 0 });
  return out;
}

export const manifestsDir = fileURLToPath(new URL('.', import.meta.url));

if (process.argv[1]?.endsWith('manifests.ts')) {
  const files = renderManifests();
  for (const [file, text] of Object.entries(files)) await writeFile(join(manifestsDir, file), text);
  console.log(`wrote ${Object.keys(files).join(', ')} in ${manifestsDir}`);
}
