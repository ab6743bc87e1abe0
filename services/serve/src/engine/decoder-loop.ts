// One sequence through the LM with the KV cache: prefill on the prompt's embeddings, then one
// decode step per new token, yielding each token as soon as it is picked. It uses the same three
// graphs as @mmit/models' generate (embed, prefill, decode step), so a greedy run here matches
// it token for token; unlike it, this loop takes any picker (sampling) and stops as soon as the
// caller stops iterating or the abort signal fires, which is how a client that goes away frees
// its slot. Batch is 1: requests are serialised by the queue. K/V round-trip through JS each step.
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
  };
}

export async function releaseDecoderSessions(s: DecoderSessions): Promise<void> {
  await Promise.all([s.embed.release(), s.prefill.release(), s.decode.release()]);
}

/** Embeddings (1, T, d) of token ids. */
export async function embedIds(sessions: DecoderSessions, ids: number[]): Promise<HostTensor> {
  const out = await sessions.embed.run({
    input_ids: { dtype: 'int32', dims: [1, ids.length], data: Int32Array.from(ids) },
  });
  return out.inputs_embeds;
}

function ones(length: number): HostTensor<'int32'> {
  return { dtype: 'int32', dims: [1, length], data: new Int32Array(length).fill(1) };
}

/** The last position's logits of a (1, T, V) output. */
function lastLogits(logits: HostTensor): Float32Array {
  const [, length, vocab] = logits.dims;
  return (logits.data as Float32Array).subarray((length - 1) * vocab, length * vocab);
}

export interface DecodeOptions {
  maxNewTokens: number;
  pick: (logits: Float32Array) => number;
  signal?: AbortSignal;
}

/** Yields up to maxNewTokens ids continuing `prompt` (1, T, d); the caller decides when to stop early. */
export async function* decodeTokens(
  sessions: DecoderSessions,
  layers: number,
  prompt: HostTensor,
  options: DecodeOptions,
): AsyncGenerator<number> {
  let length = prompt.dims[1];
  let mask = ones(length);
  let out = await sessions.prefill.run({
    inputs_embeds: prompt,
    attention_mask: mask,
    position_ids: positionsFromMask(mask, length),
  });
  for (let step = 0; step < options.maxNewTokens; step++) {
    if (options.signal?.aborted) return;
    const id = options.pick(lastLogits(out.logits));
    yield id;
    if (step + 1 === options.maxNewTokens || options.signal?.aborted) return;
    length += 1;
    mask = ones(length);
    const feeds: Record<string, HostTensor> = {
      inputs_embeds: await embedIds(sessions, [id]),
      attention_mask: mask,
      position_ids: positionsFromMask(mask, 1),
    };
    for (let i = 0; i < layers; i++) {
      feeds[pastName(i, 'key')] = out[presentName(i, 'key')];
      feeds[pastName(i, 'value')] = out[presentName(i, 'value')];
    }
    out = await sessions.decode.run(feeds);
  }
}
