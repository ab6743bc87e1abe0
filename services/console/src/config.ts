// The console's environment variables, declared once: they validate at start-up and document
// themselves (docs/console.md renders the same table). The console holds no state; the only
// settings are where it listens and where the services it shows are.
import { API_SERVICES, type ApiService } from '@mmit/contracts';
import { envVar } from '@mmit/service-kit';
import { z } from 'zod';

export const CONSOLE_DEFAULT_PORT = 7076;

/** The services behind the console, in pipeline order. */
export const UPSTREAM_SERVICES = API_SERVICES;
export type UpstreamService = ApiService;

const serviceUrl = (service: UpstreamService) =>
  envVar(
    `MMIT_CONSOLE_${service.toUpperCase()}_URL`,
    z.url().optional(),
    `Base URL of the ${service} service; unset: ${service} paths go to MMIT_GATEWAY_URL.`,
  );

export const consoleConfigSpec = {
  host: envVar('MMIT_CONSOLE_HOST', z.string().min(1).default('127.0.0.1'), 'Address to listen on.'),
  port: envVar(
    'MMIT_CONSOLE_PORT',
    z.coerce.number().int().min(0).max(65535).default(CONSOLE_DEFAULT_PORT),
    'Port to listen on (0 picks a free one).',
  ),
  gatewayUrl: envVar(
    'MMIT_GATEWAY_URL',
    z.url().default('http://127.0.0.1:7070'),
    "The launcher's gateway, which routes every /v1 path to its service.",
  ),
  ingestUrl: serviceUrl('ingest'),
  synthUrl: serviceUrl('synth'),
  featuresUrl: serviceUrl('features'),
  trainerUrl: serviceUrl('trainer'),
  serveUrl: serviceUrl('serve'),
  logLevel: envVar(
    'MMIT_LOG_LEVEL',
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    'pino log level.',
  ),
};
