// Small JSON objects that each hold a list of entries with ids, read once and cached for the
// length of one publish, with new entries added in memory and written at flush by
// compare-and-swap (merged by id, so two writers never lose each other's entries and a rerun adds
// nothing twice). The corpus keeps its indexes this way (near-duplicate buckets, the items seen):
// each object stays small whatever the corpus size, and a publish touches each at most twice.
import { type Bucket, mapLimit } from '@mmit/storage';

/** Objects read or written at once. */
const PARALLEL = 16;

import { z } from 'zod';

export class ShardedEntries<E extends { id: string }> {
  private readonly schema: z.ZodType<{ entries: E[] }>;
  private readonly loaded = new Map<string, E[]>();
  private readonly added = new Map<string, E[]>();

  constructor(
    private readonly bucket: Bucket,
    entry: z.ZodType<E>,
  ) {
    this.schema = z.object({ entries: z.array(entry) }) as unknown as z.ZodType<{ entries: E[] }>;
  }

  /** The object's entries (as stored, plus those added here since). */
  async entries(key: string): Promise<E[]> {
    let entries = this.loaded.get(key);
    if (!entries) {
      entries = (await this.bucket.getJsonIfExists(key, this.schema))?.entries ?? [];
      this.loaded.set(key, entries);
    }
    return entries;
  }

  /** Reads the objects a batch will need, many at once. */
  async prefetch(keys: Iterable<string>): Promise<void> {
    await mapLimit([...new Set(keys)], PARALLEL, (key) => this.entries(key));
  }

  /** Adds an entry unless the object has one with its id; true when added. */
  async add(key: string, entry: E): Promise<boolean> {
    const entries = await this.entries(key);
    if (entries.some((e) => e.id === entry.id)) return false;
    entries.push(entry);
    this.added.set(key, [...(this.added.get(key) ?? []), entry]);
    return true;
  }

  /** Writes what was added since the last flush. */
  async flush(): Promise<void> {
    const pending = [...this.added];
    this.added.clear();
    await mapLimit(pending, PARALLEL, ([key, fresh]) =>
      this.bucket.updateJson(key, this.schema, (current) => {
        const have = new Set((current?.entries ?? []).map((e) => e.id));
        const missing = fresh.filter((e) => !have.has(e.id));
        return missing.length ? { entries: [...(current?.entries ?? []), ...missing] } : undefined;
      }),
    );
  }
}
