// Everything the console shows, for the browser tests: the test store (a real embedded S3 server,
// or the endpoint MMIT_S3_* name) and the five real services in this process (ingest, synth,
// features, trainer, serve; the trainer asks the features service for features), all requiring one
// API key, and the console in front of them with each service's URL. Serve answers for a text-only
// base LM from the fixtures and for every finished run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFeaturesService } from '@mmit/features-service';
import { createIngestService } from '@mmit/ingest';
import { createServeService } from '@mmit/serve-service';
import type { RunningService } from '@mmit/service-kit';
import { startTestStore } from '@mmit/storage/testing';
import { createSynthService } from '@mmit/synth-service';
import { createTrainerService } from '@mmit/trainer-service';
import { createConsoleServer, type RunningConsole } from '../app.js';

export const STACK_API_KEY = 'console-browser-test-key-0123';
export const BASE_MODEL = 'tiny-llama';

export interface Stack {
  consoleUrl: string;
  services: Record<string, string>;
  dir: string;
  stop(): Promise<void>;
}

export async function startStack(options: { fixturesDir: string }): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'mmit-console-e2e-'));
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const fn of stops.reverse().splice(0)) await fn().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const store = await startTestStore({
      name: 'console-e2e',
      retry: { retries: 2, baseDelayMs: 50, maxDelayMs: 500 },
    });
    stops.push(() => store.stop());
    const bucket = store.config;
    const env = (name: string, extra: Record<string, string> = {}) => ({
      [`MMIT_${name.toUpperCase()}_PORT`]: '0',
      MMIT_LOG_LEVEL: 'silent',
      MMIT_API_KEY: STACK_API_KEY,
      ...extra,
    });
    const started = async (name: string, service: { start(): Promise<RunningService> }) => {
      const running = await service.start();
      stops.push(() => running.close());
      return [name, running.url] as const;
    };
    const services = Object.fromEntries([
      await started('ingest', createIngestService({ env: env('ingest'), bucket })),
      await started('synth', createSynthService({ env: env('synth'), bucket })),
      await started('features', createFeaturesService({ env: env('features'), bucket })),
    ]);
    Object.assign(
      services,
      Object.fromEntries([
        await started(
          'trainer',
          createTrainerService({ env: env('trainer', { MMIT_FEATURES_URL: services.features }), bucket }),
        ),
        await started(
          'serve',
          createServeService({
            env: env('serve', {
              MMIT_SERVE_BASE_MODELS: `${BASE_MODEL}=${join(options.fixturesDir, 'tiny-llama')}`,
            }),
            bucket,
          }),
        ),
      ]),
    );
    const consoleServer: RunningConsole = await createConsoleServer({
      env: {
        MMIT_CONSOLE_PORT: '0',
        MMIT_LOG_LEVEL: 'silent',
        MMIT_API_KEY: STACK_API_KEY,
        ...Object.fromEntries(
          Object.entries(services).map(([name, url]) => [`MMIT_CONSOLE_${name.toUpperCase()}_URL`, url]),
        ),
      },
    }).listen();
    stops.push(() => consoleServer.close());
    return { consoleUrl: consoleServer.url, services, dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
