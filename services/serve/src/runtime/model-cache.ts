// Loaded models, kept in an LRU of a configurable size. A model loads on first use (once, however
// many requests ask at the same time); loading past the limit evicts the least recently used model
// that no request is using, and releases its sessions. Models in use are never evicted, so the
// cache can run over its size while every entry is busy; it shrinks back as they finish.

export interface Releasable {
  release(): Promise<void>;
}

export interface Lease<M> {
  model: M;
  /** Call when the request is done with the model. */
  done(): void;
}

interface Entry<M> {
  loading: Promise<M>;
  users: number;
}

export class ModelCache<M extends Releasable> {
  private readonly entries = new Map<string, Entry<M>>();

  constructor(
    readonly capacity: number,
    private readonly load: (id: string) => Promise<M>,
    private readonly onEvict: (id: string) => void = () => {},
  ) {}

  get size(): number {
    return this.entries.size;
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  async acquire(id: string): Promise<Lease<M>> {
    let entry = this.entries.get(id);
    if (entry) {
      this.entries.delete(id); // re-insert: Map order is the recency order
    } else {
      entry = { loading: this.load(id), users: 0 };
      entry.loading.catch(() => {
        if (this.entries.get(id) === entry) this.entries.delete(id);
      });
    }
    this.entries.set(id, entry);
    entry.users++;
    const current = entry;
    try {
      const model = await current.loading;
      await this.evictOverCapacity();
      let released = false;
      return {
        model,
        done: () => {
          if (released) return;
          released = true;
          current.users--;
          void this.evictOverCapacity();
        },
      };
    } catch (error) {
      current.users--;
      throw error;
    }
  }

  /** Releases every model (shutdown). */
  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.allSettled(all.map(async (e) => (await e.loading).release()));
  }

  private async evictOverCapacity(): Promise<void> {
    for (const [id, entry] of this.entries) {
      if (this.entries.size <= this.capacity) return;
      if (entry.users > 0) continue;
      this.entries.delete(id);
      this.onEvict(id);
      await entry.loading.then((m) => m.release()).catch(() => {});
    }
  }
}
