// Assembles the console server: /healthz, the /api proxy to the services, and the built browser app (dist/) with a fallback to index.html for client-side routes.
// No body parsing (the proxy streams bodies through), no sessions, no state.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  type ConfigOf,
  createLogger,
  HttpError,
  type Logger,
  loadConfig,
  requestLogging,
} from '@mmit/service-kit';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { consoleConfigSpec } from './config.js';
import { apiProxy } from './proxy.js';
import { distDir as defaultDistDir } from './web-build.js';

export const CONSOLE_VERSION = '0.1.0';

export type ConsoleConfig = ConfigOf<typeof consoleConfigSpec>;

export interface ConsoleServerOptions {
  env?: NodeJS.ProcessEnv;
  /** The built browser app (default: services/console/dist). */
  distDir?: string;
}

export interface RunningConsole {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface ConsoleServer {
  app: Express;
  config: ConsoleConfig;
  logger: Logger;
  listen(): Promise<RunningConsole>;
}

/**
 * Pages may only talk to their own origin: the API (thumbnails included) goes through /api,
 * and attachments are read locally as blob: or data: URLs.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob: data:",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function createConsoleServer(options: ConsoleServerOptions = {}): ConsoleServer {
  const env = options.env ?? process.env;
  const config = loadConfig(consoleConfigSpec, env);
  const logger = createLogger('console', CONSOLE_VERSION, config.logLevel);
  const distDir = options.distDir ?? defaultDistDir;
  const serviceUrls = {
    ingest: config.ingestUrl,
    synth: config.synthUrl,
    features: config.featuresUrl,
    trainer: config.trainerUrl,
    serve: config.serveUrl,
  };

  const app = express();
  app.disable('x-powered-by');
  app.use(requestLogging(logger));
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', service: 'console', version: CONSOLE_VERSION });
  });
  app.use('/api', apiProxy({ gatewayUrl: config.gatewayUrl, serviceUrls }, logger));
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  // Hashed asset names never change content; index.html must be revalidated to pick up a rebuild.
  app.use('/assets', express.static(join(distDir, 'assets'), { immutable: true, maxAge: '1y' }));
  app.use(express.static(distDir, { index: false, maxAge: 0 }));
  app.get(/.*/, (_req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(join(distDir, 'index.html'));
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const httpError =
      err instanceof HttpError
        ? err
        : new HttpError('internal', err instanceof Error ? err.message : String(err), { cause: err });
    if (httpError.status >= 500) req.log.error({ err }, 'request failed');
    for (const [name, value] of Object.entries(httpError.options.headers ?? {})) res.setHeader(name, value);
    res
      .status(httpError.status)
      .type('application/problem+json')
      .send(JSON.stringify(httpError.toProblem(req.originalUrl)));
  });

  return {
    app,
    config,
    logger,
    async listen() {
      const server: Server = app.listen(config.port, config.host);
      await new Promise<void>((resolve, reject) => {
        server.once('listening', resolve);
        server.once('error', reject);
      });
      const { port } = server.address() as AddressInfo;
      const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
      logger.info({ url, gateway: config.gatewayUrl, services: serviceUrls }, 'listening');
      return {
        url,
        port,
        close: () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            // Open event streams would otherwise hold the server open.
            server.closeAllConnections();
          }),
      };
    },
  };
}
