// The service factory. createService() reads and validates the configuration, builds the
// Express app with the shared middleware in a fixed order (request id + log, metrics, in-flight
// tracking, auth, JSON body), mounts /healthz, /readyz and /metrics, and leaves a router for the
// service's own routes, followed by the 404 and error handlers. Errors answer problem+json unless
// the service chose another format for their path prefix (formatErrors). listen() binds
// (loopback by default) and, if asked, turns SIGINT/SIGTERM into a graceful shutdown.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OpenApiRegistry } from '@mmit/contracts';
import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import type { DestinationStream } from 'pino';
import type { z } from 'zod';
import { bearerAuth } from './auth.js';
import { baseConfigSpec, type ConfigOf, type ConfigSpec, describeConfig, loadConfig } from './config.js';
import { ErrorFormats, type ErrorFormatter } from './error-format.js';
import { type ErrorClass, type ErrorMapper, ErrorMappings, HttpError } from './errors.js';
import { livenessHandler, Readiness, type ReadinessCheck, readinessHandler } from './health.js';
import { jsonDepthGuard } from './json-depth.js';
import { createLogger, type Logger, requestLogging } from './logging.js';
import { createMetrics, metricsHandler, observeRequests, type ServiceMetrics } from './metrics.js';
import { routeHandler, routeSpec, type TypedRoute } from './route.js';
import { drainAndClose, InFlightRequests } from './shutdown.js';

export interface ServiceOptions<S extends ConfigSpec> {
  name: string;
  version: string;
  defaultPort: number;
  /** The service's own variables, on top of the shared ones. */
  config?: S;
  env?: NodeJS.ProcessEnv;
  /** Where logs go (default stdout); tests pass a stream to read them. */
  logDestination?: DestinationStream;
  /** The setting a 413 for a too-large JSON body names (default MMIT_JSON_BODY_LIMIT). */
  bodyLimitSetting?: string;
}

export type ShutdownHook = () => Promise<void> | void;

export interface RunningService {
  url: string;
  port: number;
  /** Drains and closes; the same as a signal would do, minus exiting the process. */
  close(): Promise<void>;
}

export class Service<S extends ConfigSpec = ConfigSpec> {
  readonly app: Express;
  /** Mount the service's routes here (or use route()); it sits before the 404 handler. */
  readonly router: Router;
  /**
   * Runs after authentication and before the JSON body is read: for decisions that must not cost
   * a body parse (admission control answering 429 to a request with megabytes of inline media).
   */
  readonly beforeBody: Router;
  readonly config: ConfigOf<ReturnType<typeof baseConfigSpec>> & ConfigOf<S>;
  readonly configSpec: ReturnType<typeof baseConfigSpec> & S;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  readonly openapi = new OpenApiRegistry();
  readonly errors = new ErrorMappings();
  private readonly errorFormats = new ErrorFormats();
  readonly readiness = new Readiness();
  /** Aborted when shutdown starts: long responses (SSE) and jobs end on it. */
  readonly shutdownSignal: AbortSignal;
  private readonly shutdownController = new AbortController();
  private readonly inFlight = new InFlightRequests();
  private readonly hooks: ShutdownHook[] = [];
  private closing: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly version: string,
    options: ServiceOptions<S>,
  ) {
    this.configSpec = { ...baseConfigSpec(name, options.defaultPort), ...(options.config ?? ({} as S)) };
    this.config = loadConfig(this.configSpec, options.env ?? process.env) as this['config'];
    this.logger = createLogger(name, version, this.config.logLevel, options.logDestination);
    this.metrics = createMetrics(name);
    this.shutdownSignal = this.shutdownController.signal;
    this.errors.bodyLimitSetting = options.bodyLimitSetting ?? 'MMIT_JSON_BODY_LIMIT';

    const app = express();
    app.disable('x-powered-by');
    app.set('trust proxy', false);
    app.use(requestLogging(this.logger));
    app.use(observeRequests(this.metrics));
    app.use(this.inFlight.middleware);
    app.get('/healthz', livenessHandler(name, version));
    app.get('/readyz', readinessHandler(this.readiness, this.logger));
    app.get('/metrics', metricsHandler(this.metrics));
    app.use(bearerAuth(this.config.apiKey));
    this.beforeBody = express.Router();
    app.use(this.beforeBody);
    app.use(express.json({ limit: this.config.bodyLimit }));
    app.use(jsonDepthGuard(this.config.jsonMaxDepth));
    this.router = express.Router();
    app.use(this.router);
    app.use((req: Request, _res: Response, next: NextFunction) => {
      next(new HttpError('not_found', `no route for ${req.method} ${req.path}`));
    });
    app.use(this.errorHandler);
    this.app = app;
    this.registerHealthRoutes();
  }

  /** Declares a route once: validated Express handler plus OpenAPI entry. */
  route<
    P extends z.ZodObject | undefined = undefined,
    Q extends z.ZodObject | undefined = undefined,
    B extends z.ZodType | undefined = undefined,
  >(route: TypedRoute<P, Q, B>): this {
    this.openapi.add(routeSpec(route));
    this.router[route.method](route.path, routeHandler(route));
    return this;
  }

  /** Maps a domain error class to an HttpError (checked before the built-in mappings). */
  mapError<E extends Error>(cls: ErrorClass<E>, map: ErrorMapper<E>): this {
    this.errors.add(cls, map);
    return this;
  }

  /**
   * Writes every error under a path prefix with this formatter instead of problem+json: the
   * routes' own errors and the shared layer's (auth, body size and syntax, unknown route) alike.
   */
  formatErrors(prefix: string, formatter: ErrorFormatter): this {
    this.errorFormats.set(prefix, formatter);
    return this;
  }

  addReadinessCheck(name: string, check: ReadinessCheck): this {
    this.readiness.add(name, check);
    return this;
  }

  /** Runs at shutdown after HTTP has drained, last registered first. */
  onShutdown(hook: ShutdownHook): this {
    this.hooks.push(hook);
    return this;
  }

  /** The configuration table for docs: shared variables plus the service's own. */
  describeConfig() {
    return describeConfig(this.configSpec);
  }

  async listen(options: { handleSignals?: boolean } = {}): Promise<RunningService> {
    const server = this.app.listen(this.config.port, this.config.host);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const { port } = server.address() as AddressInfo;
    const host = this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host;
    const url = `http://${host}:${port}`;
    this.logger.info({ url }, 'listening');

    const close = () => {
      this.closing ??= this.shutdown(server);
      return this.closing;
    };
    if (options.handleSignals) {
      const onSignal = (signal: NodeJS.Signals) => {
        this.logger.info({ signal }, 'shutting down');
        close().then(
          () => process.exit(0),
          (err) => {
            this.logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    }
    return { url, port, close };
  }

  private async shutdown(server: Server): Promise<void> {
    this.readiness.draining = true;
    this.shutdownController.abort(new Error(`${this.name} is shutting down`));
    const { drained, abandoned } = await drainAndClose(server, this.inFlight, this.config.shutdownTimeoutMs);
    if (!drained)
      this.logger.warn({ abandoned }, 'shutdown timeout: closed connections with requests in flight');
    for (const hook of [...this.hooks].reverse()) {
      try {
        await hook();
      } catch (err) {
        this.logger.error({ err }, 'shutdown hook failed');
      }
    }
    this.logger.info('stopped');
    this.logger.flush();
  }

  private registerHealthRoutes(): void {
    const open = { secured: false, tags: ['operations'] };
    this.openapi
      .add({
        method: 'get',
        path: '/healthz',
        summary: 'Liveness',
        responses: { 200: { description: 'alive' } },
        ...open,
      })
      .add({
        method: 'get',
        path: '/readyz',
        summary: 'Readiness (registered checks)',
        responses: { 200: { description: 'ready' }, 503: { description: 'not ready' } },
        ...open,
      })
      .add({
        method: 'get',
        path: '/metrics',
        summary: 'Prometheus metrics',
        responses: { 200: { description: 'metrics', contentType: 'text/plain' } },
        ...open,
      });
  }

  private readonly errorHandler = (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const http = this.errors.toHttpError(err);
    const path = req.originalUrl.split('?')[0];
    const reply = this.errorFormats.forPath(path)({ error: err, http, req });
    const log = req.log ?? this.logger;
    // Log what was sent: a formatter may know errors that the shared layer alone reads as 500s.
    if (reply.status >= 500) log.error({ err }, 'request failed');
    else
      log.info(
        { status: reply.status, detail: err instanceof Error ? err.message : http.detail },
        'request rejected',
      );
    if (res.headersSent) {
      // Too late for an error body; end the response so the client sees a broken stream.
      res.destroy();
      return;
    }
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    res.status(reply.status).type(reply.contentType).json(reply.body);
  };
}

/** Builds a service: configuration validated from the environment, app with the shared middleware. */
export function createService<S extends ConfigSpec = Record<never, never>>(
  options: ServiceOptions<S>,
): Service<S> {
  return new Service(options.name, options.version, options);
}
