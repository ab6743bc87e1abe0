// Picking the next token from one row of logits on the host, with OpenAI's knobs: logit_bias,
// frequency and presence penalties, temperature (0 = greedy), top_k (0 = off), top_p (1 = off)
// and seed. Order as in vLLM's sampler: bias and penalties first (they change the logits the
// model gave), then transformers' warpers: temperature, top-k, then top-p over the softmax of
// what is left. Greedy breaks ties on the lowest id, as @mmit/models' generate does, so the two
// agree token for token when no penalty or bias is set.
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
  /**
   * OpenAI's frequency_penalty (-2..2): subtracted from a token's logit once per time the token
   * was already generated in this answer (the prompt does not count, as with OpenAI and vLLM).
   */
  frequencyPenalty?: number;
  /** OpenAI's presence_penalty (-2..2): subtracted once from every token generated so far. */
  presencePenalty?: number;
  /** OpenAI's logit_bias: token id -> value added to its logit (-100..100) before anything else. */
  logitBias?: ReadonlyMap<number, number>;
}

/**
 * Picks the next token of one answer. A picker keeps its own random stream and the counts of the
 * tokens it picked (what the penalties look at), so each answer needs its own.
 */
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

function sampleFrom(logits: Float32Array, params: SamplingParams, random: () => number): number {
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
}

/** A picker for one answer. */
export function createPicker(params: SamplingParams): TokenPicker {
  const frequency = params.frequencyPenalty ?? 0;
  const presence = params.presencePenalty ?? 0;
  const bias = params.logitBias && params.logitBias.size > 0 ? params.logitBias : null;
  const penalised = frequency !== 0 || presence !== 0;
  const random = params.temperature === 0 ? null : mulberry32(params.seed ?? randomInt(2 ** 32));
  const counts = new Map<number, number>();
  // The caller's logits are a view of the model's output (and give the logprobs it reports), so
  // bias and penalties go on a copy, made only when there is something to change.
  const adjust = (logits: Float32Array): Float32Array => {
    if (!bias && !(penalised && counts.size > 0)) return logits;
    const out = Float32Array.from(logits);
    if (bias) for (const [id, value] of bias) if (id < out.length) out[id] += value;
    if (penalised) for (const [id, n] of counts) out[id] -= frequency * n + presence;
    return out;
  };
  return (logits) => {
    const adjusted = adjust(logits);
    const id = random ? sampleFrom(adjusted, params, random) : argmax(adjusted);
    if (penalised) counts.set(id, (counts.get(id) ?? 0) + 1);
    return id;
  };
}

/** The `k` ids with the largest logits, descending, ties on the lower id (no full sort: k is small). */
function topIds(logits: Float32Array, k: number): number[] {
  const best: number[] = [];
  for (let id = 0; id < logits.length; id++) {
    if (best.length === k && logits[id] <= logits[best[k - 1]]) continue;
    let at = best.length;
    while (at > 0 && logits[best[at - 1]] < logits[id]) at--;
    best.splice(at, 0, id);
    if (best.length > k) best.pop();
  }
  return best;
}

/** log-softmax of one row of logits, in float64 (what logprobs report). */
export function logSoftmax(logits: Float32Array): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (const x of logits) if (x > max) max = x;
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - max);
  const logZ = max + Math.log(sum);
  return Float64Array.from(logits, (x) => x - logZ);
}

export interface TokenLogprob {
  id: number;
  logprob: number;
}

/**
 * The picked token's log-probability under `logits` (the model's own, before bias, penalties and
 * temperature: what vLLM reports by default) and the `top` most likely tokens, ties on the lower id.
 */
export function tokenLogprobs(
  logits: Float32Array,
  picked: number,
  top: number,
): { token: TokenLogprob; top: TokenLogprob[] } {
  const logprobs = logSoftmax(logits);
  const best = top > 0 ? topIds(logits, top) : [];
  return {
    token: { id: picked, logprob: logprobs[picked] },
    top: best.map((id) => ({ id, logprob: logprobs[id] })),
  };
}
