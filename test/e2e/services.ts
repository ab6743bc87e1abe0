// Every service but the console (its own browser test builds and drives it), started with the
// real launcher (embedded S3, each service a child process, the gateway) on free ports for the
// test file that calls this, under a temporary root it may import from; stopped and removed after.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { type Launched, type LaunchOptions, launch } from '../../infra/launch.js';

export interface TestServices {
  /** Filled in by the file's `before` hook. */
  launched: Launched;
  /** The temporary folder: S3's data under s3/, and anything the test imports from. */
  root: string;
}

/**
 * Registers `before`/`after` hooks; `beforeLaunch` runs once the root exists (e.g. to set env);
 * `options` replaces launch options (e.g. fewer services, replicas).
 */
export function servicesForThisFile(
  prefix: string,
  beforeLaunch?: (root: string) => void,
  options: Partial<LaunchOptions> = {},
): TestServices {
  const services = {} as TestServices;
  before(async () => {
    services.root = await mkdtemp(join(tmpdir(), prefix));
    beforeLaunch?.(services.root);
    services.launched = await launch({
      services: ['ingest', 'synth', 'features', 'trainer', 'serve'],
      gatewayPort: 0,
      freePorts: true,
      dataDir: join(services.root, 's3'),
      env: { MMIT_INGEST_IMPORT_ROOTS: services.root, MMIT_LOG_LEVEL: 'warn' },
      ...options,
    });
  });
  after(async () => {
    await services.launched?.stop();
    if (services.root) await rm(services.root, { recursive: true, force: true });
  });
  return services;
}
