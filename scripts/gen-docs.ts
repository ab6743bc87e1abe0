// Generates the reference docs from the code, never by hand: one OpenAPI 3.1 document per
// service (docs/api/<service>.openapi.json, from the routes each service registers) and the
// configuration table (docs/configuration.md, from each service's validated env spec, the
// storage variables, the launcher's and the gateway's). `pnpm docs` rewrites them; a test checks
// they are current.
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gatewayConfigSpec } from '../infra/gateway-settings.js';
import { LAUNCHER_ENV } from '../infra/launch-settings.js';
import type { EnvVarDoc, OpenApiDocument } from '../packages/contracts/src/index.js';
import { describeConfig } from '../packages/service-kit/src/config.js';
import { STORAGE_ENV } from '../packages/storage/src/index.js';
import { VJP } from '../packages/tensor/src/autodiff/vjp.js';
import { createFeaturesService } from '../services/features/src/index.js';
import { createIngestService } from '../services/ingest/src/index.js';
import { createServeService } from '../services/serve/src/index.js';
import { createSynthService } from '../services/synth/src/index.js';
import { createTrainerService } from '../services/trainer/src/index.js';
import { repoRoot } from '../test/paths.js';

interface DocSource {
  name: string;
  title: string;
  describe(): { openapi: OpenApiDocument; config: EnvVarDoc[] };
}

// The services are built, not started: construction reads the env and registers routes; it opens
// no connection. The endpoint below is never contacted.
const env = {
  MMIT_S3_ENDPOINT: 'http://127.0.0.1:9',
  MMIT_S3_ACCESS_KEY: 'docs',
  MMIT_S3_SECRET_KEY: 'docs',
  MMIT_LOG_LEVEL: 'silent',
} as NodeJS.ProcessEnv;

interface BuiltService {
  service: {
    openapi: { document(info: { title: string; version: string }): OpenApiDocument };
    describeConfig(): EnvVarDoc[];
  };
}

function fromService(name: string, title: string, make: () => BuiltService, version = '0.1.0'): DocSource {
  return {
    name,
    title,
    describe() {
      const { service } = make();
      return {
        openapi: service.openapi.document({ title: `mmit ${title}`, version }),
        config: service.describeConfig(),
      };
    },
  };
}

export const SOURCES: DocSource[] = [
  fromService('ingest', 'ingest service', () => createIngestService({ env })),
  fromService('synth', 'synth service', () => createSynthService({ env })),
  fromService('features', 'features service', () => createFeaturesService({ env })),
  fromService('trainer', 'trainer service', () => createTrainerService({ env })),
  fromService('serve', 'serve service', () => createServeService({ env })),
];

function table(rows: EnvVarDoc[]): string {
  const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
  return [
    '| variable | default | meaning |',
    '|---|---|---|',
    ...rows.map(
      (r) =>
        `| \`${r.name}\` | ${r.default === undefined ? '' : `\`${cell(r.default)}\``} | ${cell(r.description)} |`,
    ),
  ].join('\n');
}

/**
 * The settings that bound what a request may bring in. Over any of them the answer is a 4xx
 * (or a per-item rejection in bulk requests) whose detail names the limit and the variable.
 */
const LIMIT_SETTINGS = [
  'MMIT_API_KEY',
  'MMIT_JSON_BODY_LIMIT',
  'MMIT_JSON_MAX_DEPTH',
  'MMIT_INGEST_MAX_CAPTION_CHARS',
  'MMIT_INGEST_MAX_CAPTIONS_PER_ITEM',
  'MMIT_INGEST_MAX_FIELD_BYTES',
  'MMIT_INGEST_MAX_FILE_BYTES',
  'MMIT_INGEST_MAX_FILES',
  'MMIT_INGEST_MAX_ARCHIVE_BYTES',
  'MMIT_SERVE_BODY_LIMIT',
  'MMIT_SERVE_MAX_QUEUE',
  'MMIT_SERVE_DECODE_CONCURRENCY',
  'MMIT_SERVE_MAX_TOKENS',
  'MMIT_SERVE_MAX_IMAGE_BYTES',
  'MMIT_SERVE_MAX_IMAGE_PIXELS',
  'MMIT_SERVE_MAX_IMAGES',
  'MMIT_SERVE_MAX_AUDIO_BYTES',
  'MMIT_SERVE_MAX_AUDIO_SEC',
];

function limitsSection(rows: EnvVarDoc[]): string[] {
  const byName = new Map<string, EnvVarDoc>();
  for (const row of rows) if (!byName.has(row.name)) byName.set(row.name, row);
  const missing = LIMIT_SETTINGS.filter((name) => !byName.has(name));
  if (missing.length > 0)
    throw new Error(`limit settings missing from the config specs: ${missing.join(', ')}`);
  return [
    '## Limits at the door',
    '',
    'What a request may bring in. Over a limit, the answer is a 400/413 (or, in an upload or import,',
    'a per-item `payload_too_large` / `invalid_record` rejection) whose detail names the limit and',
    'its variable; nothing is cut silently. An import also stops with `too_many_entries` past its',
    "request's `options.maxEntries`. Each variable is also listed under its service below.",
    '',
    table(LIMIT_SETTINGS.map((name) => byName.get(name)!)),
  ];
}

export function renderDocs(): Record<string, string> {
  const files: Record<string, string> = {};
  const sections: string[] = [
    '# Configuration',
    '',
    'Every setting comes from the environment; each service validates its variables at start-up',
    'and refuses to start with a clear message when one is wrong. Generated by `pnpm docs` from',
    "the services' own config specs: do not edit by hand.",
    '',
    '## Storage (every service)',
    '',
    table([...STORAGE_ENV]),
    '',
    '## Launcher (`pnpm start`, `pnpm demo`)',
    '',
    'The launcher also honours `MMIT_GATEWAY_PORT` and `MMIT_GATEWAY_HEALTH_INTERVAL_MS` (Gateway,',
    "below) and each service's `MMIT_<SERVICE>_PORT` for the first replica of that service; each",
    'setting has a flag too (`pnpm start --help`). Replicas after the first take free ports. See',
    '[architecture.md](architecture.md#launcher-and-gateway).',
    '',
    table([...LAUNCHER_ENV]),
    '',
    '## Gateway',
    '',
    'Read in full by the gateway running alone (`infra/gateway-main.ts`, the `gateway` container);',
    'inside the launcher only its port and health interval apply, and the launcher gives it the',
    'replicas. See [architecture.md](architecture.md#gateway) and [deployment.md](deployment.md).',
    '',
    table(describeConfig(gatewayConfigSpec)),
  ];
  const described = SOURCES.map((source) => ({ name: source.name, ...source.describe() }));
  sections.push('', ...limitsSection(described.flatMap((d) => d.config)));
  for (const { name, openapi, config } of described) {
    files[`docs/api/${name}.openapi.json`] = `${JSON.stringify(openapi, null, 2)}\n`;
    sections.push('', `## ${name}`, '', table(config));
  }
  files['docs/configuration.md'] = `${sections.join('\n')}\n`;
  files['packages/tensor/README.md'] = tensorReadme();
  return files;
}

/** packages/tensor/README.md with its list of gradient rules rewritten from the VJP table. */
function tensorReadme(): string {
  const text = readFileSync(join(repoRoot, 'packages/tensor/README.md'), 'utf8');
  const begin = '<!-- vjp-rules: generated from VJP in src/autodiff/vjp.ts -->';
  const end = '<!-- /vjp-rules -->';
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from)
    throw new Error(`packages/tensor/README.md lacks the markers ${begin} ... ${end}`);
  const ops = Object.keys(VJP);
  const list = `${ops.length} ops: ${ops.map((op) => `\`${op}\``).join(', ')}.`;
  return `${text.slice(0, from + begin.length)}\n${list}\n${text.slice(to)}`;
}

if (process.argv[1]?.endsWith('gen-docs.ts')) {
  const files = renderDocs();
  await mkdir(join(repoRoot, 'docs/api'), { recursive: true });
  for (const [path, text] of Object.entries(files)) await writeFile(join(repoRoot, path), text);
  console.log(`wrote ${Object.keys(files).join(', ')}`);
  process.exit(0);
}
