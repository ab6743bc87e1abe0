// Replies already paid for, keyed by the sha256 of the request (model, messages, sampling
// settings), so a rerun of a recipe, or a resumed job, does not ask the endpoint twice. The
// bucket cache stores one small JSON object per reply under `cache/llm/<aa>/<hash>.json` (a key
// that belongs in the contracts key layout). Only validated replies are stored.
import type { Bucket } from '@mmit/storage';
import { z } from 'zod';

export const CachedReplySchema = z.object({ content: z.string(), tokens: z.number().int().nonnegative() });
export type CachedReply = z.infer<typeof CachedReplySchema>;

export interface ReplyCache {
  get(hash: string): Promise<CachedReply | undefined>;
  put(hash: string, reply: CachedReply): Promise<void>;
}

export class MemoryReplyCache implements ReplyCache {
  private readonly entries = new Map<string, CachedReply>();
  async get(hash: string) {
    return this.entries.get(hash);
  }
  async put(hash: string, reply: CachedReply) {
    this.entries.set(hash, reply);
  }
}

export function llmCacheKey(hash: string): string {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new RangeError(`cache hash must be 64 hex characters, got ${hash}`);
  return `cache/llm/${hash.slice(0, 2)}/${hash}.json`;
}

export class BucketReplyCache implements ReplyCache {
  constructor(private readonly bucket: Bucket) {}
  async get(hash: string) {
    return this.bucket.getJsonIfExists(llmCacheKey(hash), CachedReplySchema);
  }
  async put(hash: string, reply: CachedReply) {
    await this.bucket.putJson(llmCacheKey(hash), reply, CachedReplySchema);
  }
}
