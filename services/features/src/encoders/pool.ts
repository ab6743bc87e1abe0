// Opened encoders kept between the units of a job. A feature job is split into units (one shard
// each) that any replica may claim, so one replica usually runs many units of the same encoder in
// a row; resolving a checkpoint (hashing its weights) and building its session once per replica,
// not once per unit, keeps a unit as cheap as a batch was. An encoder nobody used for `idleMs` is
// closed; close() ends them all at shutdown.
import type { EncoderSpec } from '@mmit/features';
import type { HubProgress } from '@mmit/models';
import type { ExecutionProvider } from '@mmit/tensor';
import { type ResolvedEncoder, resolveEncoder } from './resolve.js';
import type { EncoderRunner } from './runner.js';

interface Entry {
  resolved: Promise<ResolvedEncoder>;
  runners: Map<string, Promise<EncoderRunner>>;
  users: number;
  timer?: NodeJS.Timeout;
}

export interface Lease {
  resolved: ResolvedEncoder;
  /** The session on `ep` (opened on first use, then shared). */
  runner(options: { ep: ExecutionProvider; threads?: number }): Promise<EncoderRunner>;
  release(): void;
}

export class EncoderPool {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly modelRoots: string[],
    private readonly idleMs = 60_000,
  ) {}

  /**
   * The resolved encoder for a spec, held until release(). `onProgress` hears the checkpoint's
   * download when this call is the one that starts resolving it.
   */
  async acquire(spec: EncoderSpec, options: { onProgress?: (p: HubProgress) => void } = {}): Promise<Lease> {
    const name = JSON.stringify(spec);
    let entry = this.entries.get(name);
    if (!entry) {
      entry = {
        resolved: resolveEncoder(spec, { modelRoots: this.modelRoots, ...options }),
        runners: new Map(),
        users: 0,
      };
      this.entries.set(name, entry);
      entry.resolved.catch(() => this.entries.delete(name));
    }
    clearTimeout(entry.timer);
    entry.users++;
    const held = entry;
    let released = false;
    try {
      const resolved = await held.resolved;
      return {
        resolved,
        runner: (options) => {
          const key = `${options.ep}/${options.threads ?? 0}`;
          let runner = held.runners.get(key);
          if (!runner) {
            runner = resolved.open(options);
            held.runners.set(key, runner);
            runner.catch(() => held.runners.delete(key));
          }
          return runner;
        },
        release: () => {
          if (released) return;
          released = true;
          this.release(name, held);
        },
      };
    } catch (err) {
      this.release(name, held);
      throw err;
    }
  }

  async close(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(entries.map((entry) => this.closeEntry(entry)));
  }

  private release(name: string, entry: Entry): void {
    if (--entry.users > 0) return;
    entry.timer = setTimeout(() => {
      if (entry.users > 0 || this.entries.get(name) !== entry) return;
      this.entries.delete(name);
      this.closeEntry(entry).catch(() => undefined);
    }, this.idleMs);
    entry.timer.unref();
  }

  private async closeEntry(entry: Entry): Promise<void> {
    clearTimeout(entry.timer);
    const runners = await Promise.allSettled(entry.runners.values());
    await Promise.all(runners.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
  }
}
