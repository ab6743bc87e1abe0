// The decoder loop with the KV cache, the one every caller generates through (serve, the proof,
// the exporters' checks): an embed graph (ids -> embeddings), a prefill graph (prompt embeddings
// -> logits + present K/V) and a decode-step graph (one new token per row + past K/V -> logits +
// present), each an onnxruntime session. Prompts start as embeddings so multimodal callers splice
// projected media rows in first; rows are left-padded so every row's next token lands in the same
// column, with positions from the attention mask as in transformers' generate. The caller chooses
// each step's tokens (greedy, sampled, stopped), so streaming and batch generation share one loop.
// K/V round-trip through JS each step.
import {
  buildCachedGraph,
  buildEmbedGraph,
  type LanguageModel,
  pastName,
  positionsFromMask,
  presentName,
} from '@mmit/models';
import { createSession, type ExecutionProvider, type HostTensor, type Session } from '@mmit/tensor';

export interface DecoderSessions {
  embed: Session;
  prefill: Session;
  decode: Session;
  /** The LM's layer count (one past/present pair each). */
  layers: number;
}

export async function openDecoderSessions(
  lm: LanguageModel,
  ep: ExecutionProvider,
  threads?: number,
): Promise<DecoderSessions> {
  const options = { ep, threads, cache: false };
  return {
    embed: await createSession(buildEmbedGraph(lm), options),
    prefill: await createSession(buildCachedGraph(lm, { withPast: false }), options),
    decode: await createSession(buildCachedGraph(lm, { withPast: true }), options),
    layers: lm.config.numLayers,
  };
}

export async function releaseDecoderSessions(s: DecoderSessions): Promise<void> {
  await Promise.all([s.embed.release(), s.prefill.release(), s.decode.release()]);
}

/** Embeddings (B, T, d) of int32 ids (B, T). */
export async function embedTokens(sessions: DecoderSessions, ids: HostTensor<'int32'>): Promise<HostTensor> {
  return (await sessions.embed.run({ input_ids: ids })).inputs_embeds;
}

/** Embeddings (1, T, d) of one row of token ids. */
export function embedIds(sessions: DecoderSessions, ids: number[]): Promise<HostTensor> {
  return embedTokens(sessions, { dtype: 'int32', dims: [1, ids.length], data: Int32Array.from(ids) });
}

/** The last position's logits of each row of a (B, T, V) output. */
function lastLogits(logits: HostTensor): Float32Array[] {
  const [batch, length, vocab] = logits.dims;
  const data = logits.data as Float32Array;
  return Array.from({ length: batch }, (_, b) => {
    const base = (b * length + length - 1) * vocab;
    return data.subarray(base, base + vocab);
  });
}

function appendColumn(mask: HostTensor<'int32'>, value: number): HostTensor<'int32'> {
  const [batch, length] = mask.dims;
  const data = new Int32Array(batch * (length + 1));
  for (let b = 0; b < batch; b++) {
    data.set(mask.data.subarray(b * length, (b + 1) * length), b * (length + 1));
    data[b * (length + 1) + length] = value;
  }
  return { dtype: 'int32', dims: [batch, length + 1], data };
}

/** Picks each row's next token from its last logits; null ends generation. */
export type ChooseTokens = (logits: Float32Array[]) => number[] | null;

export interface DecodeStepsOptions {
  maxNewTokens: number;
  choose: ChooseTokens;
  signal?: AbortSignal;
}

/**
 * Continues `embeds` (B, T, d) under its left-padded `mask`: prefill, then one decode step per
 * chosen row of tokens, yielded as soon as chosen. Stops after maxNewTokens, when `choose` returns
 * null, when the signal aborts, or when the caller stops iterating.
 */
export async function* decodeSteps(
  sessions: DecoderSessions,
  embeds: HostTensor,
  mask: HostTensor<'int32'>,
  options: DecodeStepsOptions,
): AsyncGenerator<number[]> {
  let out = await sessions.prefill.run({
    inputs_embeds: embeds,
    attention_mask: mask,
    position_ids: positionsFromMask(mask, embeds.dims[1]),
  });
  const batch = embeds.dims[0];
  for (let step = 0; step < options.maxNewTokens; step++) {
    if (options.signal?.aborted) return;
    const ids = options.choose(lastLogits(out.logits));
    if (!ids) return;
    yield ids;
    if (step + 1 === options.maxNewTokens || options.signal?.aborted) return;
    mask = appendColumn(mask, 1);
    const feeds: Record<string, HostTensor> = {
      inputs_embeds: await embedTokens(sessions, {
        dtype: 'int32',
        dims: [batch, 1],
        data: Int32Array.from(ids),
      }),
      attention_mask: mask,
      position_ids: positionsFromMask(mask, 1),
    };
    for (let i = 0; i < sessions.layers; i++) {
      feeds[pastName(i, 'key')] = out[presentName(i, 'key')];
      feeds[pastName(i, 'value')] = out[presentName(i, 'value')];
    }
    out = await sessions.decode.run(feeds);
  }
}

export interface DecodeOptions {
  maxNewTokens: number;
  pick: (logits: Float32Array) => number;
  signal?: AbortSignal;
}

/** One prompt (1, T, d): yields up to maxNewTokens ids; the caller decides when to stop early. */
export async function* decodeTokens(
  sessions: DecoderSessions,
  prompt: HostTensor,
  options: DecodeOptions,
): AsyncGenerator<number> {
  const length = prompt.dims[1];
  const mask: HostTensor<'int32'> = {
    dtype: 'int32',
    dims: [1, length],
    data: new Int32Array(length).fill(1),
  };
  const steps = decodeSteps(sessions, prompt, mask, {
    maxNewTokens: options.maxNewTokens,
    signal: options.signal,
    choose: ([logits]) => [options.pick(logits)],
  });
  for await (const [id] of steps) yield id;
}
