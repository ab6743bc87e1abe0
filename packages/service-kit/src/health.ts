// Liveness and readiness. /healthz answers while the process serves HTTP at all; /readyz runs the
// checks the service registered (bucket reachable, model loaded, ...) each with a time limit, and
// answers 503 `not_ready` naming the failing checks, or while the service is shutting down.
import { problem } from '@mmit/contracts';
import type { Request, Response } from 'express';

export type ReadinessCheck = () => Promise<void>;

export interface CheckResult {
  ok: boolean;
  ms: number;
  error?: string;
}

export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  draining = false;

  constructor(private readonly timeoutMs = 2_000) {}

  add(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  async run(): Promise<Record<string, CheckResult>> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        const started = Date.now();
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            check(),
            new Promise((_, reject) => {
              timer = setTimeout(
                () => reject(new Error(`timed out after ${this.timeoutMs} ms`)),
                this.timeoutMs,
              );
            }),
          ]);
          return [name, { ok: true, ms: Date.now() - started }] as const;
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err);
          return [name, { ok: false, ms: Date.now() - started, error }] as const;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return Object.fromEntries(entries);
  }
}

export function livenessHandler(service: string, version: string) {
  const started = Date.now();
  return (_req: Request, res: Response) => {
    res.json({ status: 'ok', service, version, uptimeSec: Math.round((Date.now() - started) / 1000) });
  };
}

/**
 * /readyz answers without authentication, so it names the failing checks but never their errors
 * (they hold the store's endpoint, server paths, ...): those go to the log, where operators look.
 */
export function readinessHandler(readiness: Readiness, log?: { warn(obj: object, msg: string): void }) {
  return async (req: Request, res: Response) => {
    if (readiness.draining) {
      res
        .status(503)
        .type('application/problem+json')
        .json(problem('not_ready', 'shutting down', { instance: req.originalUrl }));
      return;
    }
    const checks = await readiness.run();
    const failing = Object.entries(checks).filter(([, r]) => !r.ok);
    const shown = Object.fromEntries(
      Object.entries(checks).map(([name, r]) => [name, { ok: r.ok, ms: r.ms }]),
    );
    if (failing.length === 0) {
      res.json({ status: 'ready', checks: shown });
      return;
    }
    log?.warn({ checks: Object.fromEntries(failing) }, 'not ready');
    const detail = `failing: ${failing.map(([name]) => name).join(', ')} (the service log says why)`;
    res
      .status(503)
      .type('application/problem+json')
      .json({ ...problem('not_ready', detail, { instance: req.originalUrl }), checks: shown });
  };
}
