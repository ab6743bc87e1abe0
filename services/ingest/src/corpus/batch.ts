// What one batch of ingestion (an import unit, an upload) proposes for a corpus, before its publish
// step decides and writes it (publish.ts). While items are ingested it answers the questions that
// save work: was this exact item published already (a rerun: no need to decode it again), which
// item holds these bytes (a duplicate: copy its media instead of decoding), and it makes twins
// inside the batch wait for each other. Reruns of duplicates and rejections are recognised by the
// publish step. The answers from the bucket are hints; the publish step
// decides again under the corpus's lock, so a hint that turned stale costs work, never correctness.
import {
  type CorpusManifest,
  CorpusManifestSchema,
  type ItemOutcome,
  type ItemRecord,
  keys,
} from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';
import { outcomeOf, type Proposal, type SourceClaim, SourceClaimSchema } from './publish.js';

export class CorpusBatch {
  private readonly proposals = new Map<number, Proposal>();
  private readonly byId = new Map<string, ItemRecord>();
  /** The first accepted record of the batch per source sha256. */
  private readonly bySha = new Map<string, ItemRecord>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly holders = new Map<string, Promise<SourceClaim['holder'] | undefined>>();
  private published: Set<string>;

  constructor(
    private readonly bucket: Bucket,
    public manifest: CorpusManifest,
  ) {
    this.published = new Set(manifest.parts.map((p) => p.part));
  }

  get id(): string {
    return this.manifest.id;
  }

  get size(): number {
    return this.proposals.size;
  }

  /** Everything proposed so far, in entry order. */
  list(): Proposal[] {
    return [...this.proposals.values()].sort((a, b) => a.index - b.index);
  }

  propose(index: number, source: string, record: ItemRecord): ItemOutcome {
    this.proposals.set(index, { index, source, record });
    this.byId.set(record.id, record);
    const sha = record.extra.sourceSha256;
    if (record.status === 'accepted' && typeof sha === 'string' && !this.bySha.has(sha))
      this.bySha.set(sha, record);
    // As proposed: publishing may still turn an accepted record into a duplicate.
    return outcomeOf(index, source, record);
  }

  /** An entry whose outcome is known without a new record (it is in the corpus already). */
  known(outcome: ItemOutcome): ItemOutcome {
    this.proposals.set(outcome.index, { index: outcome.index, source: outcome.source, outcome });
    return outcome;
  }

  /** A record of this batch with this id (the same source and bytes twice in one batch). */
  proposed(itemId: string): ItemRecord | undefined {
    return this.byId.get(itemId);
  }

  /** The batch's own first holder of these bytes. */
  holderInBatch(sourceSha256: string): ItemRecord | undefined {
    return this.bySha.get(sourceSha256);
  }

  /** The published item that holds these bytes in the corpus, if any (asked once per batch). */
  holderOf(sourceSha256: string): Promise<SourceClaim['holder'] | undefined> {
    let holder = this.holders.get(sourceSha256);
    if (!holder) {
      holder = (async () => {
        const key = keys.corpusSourceClaim(this.id, sourceSha256);
        const claim = await this.bucket.getJsonIfExists(key, SourceClaimSchema);
        return claim && (await this.isPublished(claim.holder.part)) ? claim.holder : undefined;
      })();
      this.holders.set(sourceSha256, holder);
      holder.catch(() => this.holders.delete(sourceSha256));
    }
    return holder;
  }

  /** Runs `work` once no other item with the same bytes is in flight, so twins decide in turn. */
  async oneAtATime<T>(sourceSha256: string, work: () => Promise<T>): Promise<T> {
    while (this.inFlight.has(sourceSha256)) await this.inFlight.get(sourceSha256);
    const run = work();
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.set(sourceSha256, settled);
    try {
      return await run;
    } finally {
      this.inFlight.delete(sourceSha256);
    }
  }

  private async isPublished(part: string): Promise<boolean> {
    if (this.published.has(part)) return true;
    // Published since this batch began: look again (parts only ever get added).
    this.manifest = await this.bucket.getJson(keys.corpusManifest(this.id), CorpusManifestSchema);
    this.published = new Set(this.manifest.parts.map((p) => p.part));
    return this.published.has(part);
  }
}
