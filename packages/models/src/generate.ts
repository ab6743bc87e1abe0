// Greedy generation with the KV cache: one embed graph (ids -> embeddings), one prefill graph
// (prompt embeddings -> logits + present K/V) and one decode-step graph (one new token + past
// K/V -> logits + present), each a cached onnxruntime session. Prompts are left-padded so every
// row's next token lands in the same column; positions come from the attention mask as in
// transformers' generate. Starting from embeddings lets multimodal callers splice in projected
// features first. Limits: greedy only (no sampling, no beams); K/V round-trip through JS each step.
import { createSession, type ExecutionProvider, type HostTensor, type Session } from '@mmit/tensor';
import { positionsFromMask } from './feeds.js';
import type { LanguageModel } from './language-model.js';
import { buildCachedGraph, buildEmbedGraph, pastName, presentName } from './lm-graphs.js';

export interface GenerateOptions {
  maxNewTokens: number;
  /** Stop a row at any of these ids (default: the config's eos_token_id). */
  eosTokenIds?: number[];
  /** Fills finished rows and left padding (default: config pad_token_id, else the first eos id, else 0). */
  padTokenId?: number;
  ep?: ExecutionProvider;
}

export interface Generator {
  /** Embeddings (B, T, d) for int32 ids (B, T). */
  embed(ids: HostTensor<'int32'>): Promise<HostTensor>;
  /** Greedy continuation of prompts given as embeddings with their left-padded mask. */
  generateFromEmbeds(
    embeds: HostTensor,
    attentionMask: HostTensor<'int32'>,
    options: GenerateOptions,
  ): Promise<number[][]>;
  /** Greedy continuation of token-id prompts (left-padded here); returns only the new tokens. */
  generate(prompts: number[][], options: GenerateOptions): Promise<number[][]>;
}

function argmaxLast(logits: HostTensor): number[] {
  const [batch, length, vocab] = logits.dims;
  const data = logits.data as Float32Array;
  const out: number[] = [];
  for (let b = 0; b < batch; b++) {
    const base = (b * length + length - 1) * vocab;
    let best = 0;
    for (let v = 1; v < vocab; v++) if (data[base + v] > data[base + best]) best = v;
    out.push(best);
  }
  return out;
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

export function createGenerator(lm: LanguageModel, ep: ExecutionProvider = 'cpu'): Generator {
  let sessions: Promise<{ embed: Session; prefill: Session; decode: Session }> | null = null;
  const open = () => {
    sessions ??= (async () => ({
      embed: await createSession(buildEmbedGraph(lm), { ep }),
      prefill: await createSession(buildCachedGraph(lm, { withPast: false }), { ep }),
      decode: await createSession(buildCachedGraph(lm, { withPast: true }), { ep }),
    }))();
    return sessions;
  };
  const layers = lm.config.numLayers;

  const embed = async (ids: HostTensor<'int32'>) =>
    (await (await open()).embed.run({ input_ids: ids })).inputs_embeds;

  const generateFromEmbeds: Generator['generateFromEmbeds'] = async (embeds, attentionMask, options) => {
    const { prefill, decode } = await open();
    const eos = new Set(options.eosTokenIds ?? lm.config.eosTokenIds);
    const pad = options.padTokenId ?? lm.config.padTokenId ?? [...eos][0] ?? 0;
    const batch = embeds.dims[0];
    let mask = attentionMask;
    let out = await prefill.run({
      inputs_embeds: embeds,
      attention_mask: mask,
      position_ids: positionsFromMask(mask, embeds.dims[1]),
    });
    const generated: number[][] = Array.from({ length: batch }, () => []);
    const done = new Array<boolean>(batch).fill(false);
    for (let step = 0; step < options.maxNewTokens; step++) {
      const next = argmaxLast(out.logits).map((id, b) => (done[b] ? pad : id));
      next.forEach((id, b) => {
        if (done[b]) return;
        generated[b].push(id);
        if (eos.has(id)) done[b] = true;
      });
      if (done.every(Boolean) || step + 1 === options.maxNewTokens) break;
      mask = appendColumn(mask, 1);
      const feeds: Record<string, HostTensor> = {
        inputs_embeds: await embed({ dtype: 'int32', dims: [batch, 1], data: Int32Array.from(next) }),
        attention_mask: mask,
        position_ids: positionsFromMask(mask, 1),
      };
      for (let i = 0; i < layers; i++) {
        feeds[pastName(i, 'key')] = out[presentName(i, 'key')];
        feeds[pastName(i, 'value')] = out[presentName(i, 'value')];
      }
      out = await decode.run(feeds);
    }
    return generated;
  };

  return {
    embed,
    generateFromEmbeds,
    async generate(prompts, options) {
      const pad = options.padTokenId ?? lm.config.padTokenId ?? 0;
      const length = Math.max(...prompts.map((p) => p.length));
      const ids = new Int32Array(prompts.length * length).fill(pad);
      const mask = new Int32Array(prompts.length * length);
      prompts.forEach((prompt, b) => {
        const offset = b * length + length - prompt.length;
        ids.set(prompt, offset);
        mask.fill(1, offset, (b + 1) * length);
      });
      const dims = [prompts.length, length];
      const embeds = await embed({ dtype: 'int32', dims, data: ids });
      return generateFromEmbeds(embeds, { dtype: 'int32', dims, data: mask }, options);
    },
  };
}
