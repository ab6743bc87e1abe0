// Picking the next token from one row of logits on the host, with OpenAI's knobs: temperature
// (0 = greedy), top_k (0 = off), top_p (1 = off) and seed. Order as in transformers' logits
// warpers: temperature, then top-k, then top-p over the softmax of what is left. Greedy breaks
// ties on the lowest id, as @mmit/models' generate does, so the two agree token for token.
// A seed makes the draw reproducible (same seed, model and prompt give the same text); without
// one each request draws its own seed.
import { randomInt } from 'node:crypto';
import { mulberry32 } from '@mmit/random';

export interface SamplingParams {
  /** 0 picks the argmax; above 0 divides the logits before sampling. */
  temperature: number;
  /** Keep the k most likely tokens (0 = all). */
  topK: number;
  /** Keep the smallest set whose probability reaches p (1 = all). */
  topP: number;
  seed?: number;
}

export type TokenPicker = (logits: Float32Array) => number;

export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
  return best;
}

/** Token ids ordered by descending logit, cut to the top `k` (all when k is 0 or too large). */
function topCandidates(logits: Float32Array, k: number): number[] {
  const ids = Array.from(logits.keys());
  ids.sort((a, b) => logits[b] - logits[a] || a - b);
  return k > 0 && k < ids.length ? ids.slice(0, k) : ids;
}

/** A picker for one request; it keeps its own random stream. */
export function createPicker(params: SamplingParams): TokenPicker {
  if (params.temperature === 0) return argmax;
  const random = mulberry32(params.seed ?? randomInt(2 ** 32));
  return (logits) => {
    const ids = topCandidates(logits, params.topK);
    const max = logits[ids[0]];
    const weights = ids.map((id) => Math.exp((logits[id] - max) / params.temperature));
    const total = weights.reduce((a, b) => a + b, 0);
    // Nucleus: the most likely tokens until their mass reaches top_p (always at least one).
    let kept = ids.length;
    if (params.topP < 1) {
      let mass = 0;
      for (let i = 0; i < ids.length; i++) {
        mass += weights[i] / total;
        if (mass >= params.topP) {
          kept = i + 1;
          break;
        }
      }
    }
    const keptTotal = weights.slice(0, kept).reduce((a, b) => a + b, 0);
    let draw = random() * keptTotal;
    for (let i = 0; i < kept; i++) {
      draw -= weights[i];
      if (draw < 0) return ids[i];
    }
    return ids[kept - 1];
  };
}
