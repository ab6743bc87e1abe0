// Greedy generation over a batch of prompts, on the decoder loop (decoder.ts): rows stop at an
// end-of-sequence id and are fed the pad id after. Ties break on the lowest id (the sampler's
// greedy picker), so a served greedy answer equals this token for token. Limits: greedy only.
import type { LanguageModel } from '@mmit/models';
import type { ExecutionProvider, HostTensor } from '@mmit/tensor';
import { type DecoderSessions, decodeSteps, embedTokens, openDecoderSessions } from './decoder.js';
import { argmax } from './sampler.js';

export interface GenerateOptions {
  maxNewTokens: number;
  /** Stop a row at any of these ids (default: the config's eos_token_id). */
  eosTokenIds?: number[];
  /** Fills finished rows and left padding (default: config pad_token_id, else the first eos id, else 0). */
  padTokenId?: number;
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

export function createGenerator(lm: LanguageModel, ep: ExecutionProvider = 'cpu'): Generator {
  let sessions: Promise<DecoderSessions> | null = null;
  const open = () => {
    sessions ??= openDecoderSessions(lm, ep);
    return sessions;
  };
  const embed = async (ids: HostTensor<'int32'>) => embedTokens(await open(), ids);

  const generateFromEmbeds: Generator['generateFromEmbeds'] = async (embeds, attentionMask, options) => {
    const eos = new Set(options.eosTokenIds ?? lm.config.eosTokenIds);
    const pad = options.padTokenId ?? lm.config.padTokenId ?? [...eos][0] ?? 0;
    const batch = embeds.dims[0];
    const generated: number[][] = Array.from({ length: batch }, () => []);
    const done = new Array<boolean>(batch).fill(false);
    const choose = (logits: Float32Array[]) => {
      if (done.every(Boolean)) return null;
      return logits.map((row, b) => (done[b] ? pad : argmax(row)));
    };
    for await (const ids of decodeSteps(await open(), embeds, attentionMask, {
      maxNewTokens: options.maxNewTokens,
      choose,
    })) {
      ids.forEach((id, b) => {
        if (done[b]) return;
        generated[b].push(id);
        if (eos.has(id)) done[b] = true;
      });
      if (done.every(Boolean)) break;
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
