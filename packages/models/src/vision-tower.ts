// Pieces shared by the frozen transformer encoders (CLIP and SigLIP vision towers, Whisper's
// audio encoder): finding an encoder's weights inside any checkpoint layout, the pre-LayerNorm
// encoder layer, patch embedding, and Hugging Face's `hidden_states` indexing and LLaVA's
// feature selection. Forward only: weights become initializers, nothing here is trainable.
// Attention is MatMul + Softmax (ops the WebGPU provider has) with Q, K and V fused into one
// MatMul and the 1/sqrt(head_dim) scale folded into the query weights at build time.
// Shape legend: B batch (symbolic 'batch'), T tokens, D hidden, H heads, Dh head dim.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  add,
  concat,
  conv,
  type Graph,
  type HostTensor,
  layerNorm,
  linear,
  matmul,
  openCheckpoint,
  reshape,
  slice,
  softmax,
  split,
  type TensorSource,
  transpose,
  type Value,
} from '@mmit/tensor';
import { act } from './activations.js';

export class EncoderCheckpointError extends Error {
  override name = 'EncoderCheckpointError';
}

export class FeatureRequestError extends Error {
  override name = 'FeatureRequestError';
}

// ---- checkpoint access ------------------------------------------------------------------------

/** Reads `<dir>/config.json`; encoder configs may sit under a key (`vision_config`) of a larger model's config. */
export function readConfigSection(dir: string, section?: string): Record<string, unknown> {
  const path = join(dir, 'config.json');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new EncoderCheckpointError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const nested = section ? raw[section] : undefined;
  return nested && typeof nested === 'object' ? (nested as Record<string, unknown>) : raw;
}

/** One encoder's weights inside a checkpoint, named relative to the encoder's prefix, read lazily as float32. */
export interface EncoderWeights {
  readonly dir: string;
  /** The HF prefix the encoder lives under: '', 'vision_model.', 'model.encoder.', ... */
  readonly prefix: string;
  has(name: string): boolean;
  read(name: string): HostTensor<'float32'>;
  close(): void;
}

/**
 * Opens a checkpoint and finds where the encoder lives by a weight only it has (`anchor`, e.g.
 * 'embeddings.patch_embedding.weight'): CLIPVisionModel saved by transformers 5 has no prefix,
 * CLIPModel uses 'vision_model.', LLaVA 'vision_tower.vision_model.' or 'model.vision_tower.vision_model.'.
 * Pass `prefix` to choose when a checkpoint holds several encoders.
 */
export function openEncoderWeights(
  dir: string,
  anchor: string,
  what: string,
  prefix?: string,
): EncoderWeights {
  const source: TensorSource = openCheckpoint(dir);
  try {
    const found = prefix ?? findPrefix(source.names(), anchor, what, dir);
    if (!source.has(found + anchor)) {
      throw new EncoderCheckpointError(`${dir}: no ${what} weight '${found}${anchor}' (prefix '${found}')`);
    }
    return {
      dir,
      prefix: found,
      has: (name) => source.has(found + name),
      read: (name) => {
        if (!source.has(found + name)) {
          throw new EncoderCheckpointError(`${dir}: ${what} weight '${found}${name}' is missing`);
        }
        return source.read(found + name, { as: 'float32' }) as HostTensor<'float32'>;
      },
      close: () => source.close(),
    };
  } catch (err) {
    source.close();
    throw err;
  }
}

function findPrefix(names: string[], anchor: string, what: string, dir: string): string {
  const prefixes = names
    .filter((n) => n.endsWith(anchor))
    .map((n) => n.slice(0, n.length - anchor.length))
    .filter((p) => p === '' || p.endsWith('.'));
  if (prefixes.length === 1) return prefixes[0];
  if (prefixes.length === 0) {
    throw new EncoderCheckpointError(
      `${dir}: no ${what} found (no weight ending in '${anchor}'; e.g. ${names.slice(0, 4).join(', ')})`,
    );
  }
  throw new EncoderCheckpointError(
    `${dir}: several ${what}s (prefixes ${prefixes.map((p) => `'${p}'`).join(', ')}); pass one as prefix`,
  );
}

/** A frozen weight as a graph initializer, named after its HF name (readable in ORT profiles). */
export function frozenWeight(g: Graph, weights: EncoderWeights, name: string): Value {
  return g.initializer(name, weights.read(name));
}

// ---- the pre-LN encoder layer -----------------------------------------------------------------

/** HF module names inside one layer (relative to its prefix, without `.weight`/`.bias`). */
export interface EncoderLayerNames {
  norm1: string;
  q: string;
  k: string;
  v: string;
  out: string;
  norm2: string;
  fc1: string;
  fc2: string;
}

/** CLIP and SigLIP share this layout. */
export const vitLayerNames: EncoderLayerNames = {
  norm1: 'layer_norm1',
  q: 'self_attn.q_proj',
  k: 'self_attn.k_proj',
  v: 'self_attn.v_proj',
  out: 'self_attn.out_proj',
  norm2: 'layer_norm2',
  fc1: 'mlp.fc1',
  fc2: 'mlp.fc2',
};

export interface EncoderLayerSpec {
  hiddenSize: number;
  heads: number;
  eps: number;
  /** transformers' activation name (`hidden_act` / `activation_function`). */
  act: string;
}

/** x + attn(norm1(x)), then + mlp(norm2(x)): the layer of CLIP, SigLIP and Whisper's encoder. */
export function encoderLayer(
  g: Graph,
  x: Value, // (B, T, D)
  weights: EncoderWeights,
  prefix: string,
  names: EncoderLayerNames,
  spec: EncoderLayerSpec,
): Value {
  const w = (name: string) => frozenWeight(g, weights, `${prefix}${name}`);
  const h1 = layerNorm(x, w(`${names.norm1}.weight`), w(`${names.norm1}.bias`), spec.eps);
  const attended = g.scope('self_attn', () => selfAttention(g, h1, weights, prefix, names, spec));
  const x1 = add(x, attended);
  const h2 = layerNorm(x1, w(`${names.norm2}.weight`), w(`${names.norm2}.bias`), spec.eps);
  const mlp = g.scope('mlp', () => {
    const up = act(spec.act, linear(h2, w(`${names.fc1}.weight`), w(`${names.fc1}.bias`)));
    return linear(up, w(`${names.fc2}.weight`), w(`${names.fc2}.bias`));
  });
  return add(x1, mlp);
}

/**
 * Bidirectional multi-head attention, no mask. Q, K and V come from one [3D, D] MatMul; the
 * query rows (and bias) are pre-multiplied by Dh^-0.5, which is HF's scaling moved before the
 * product (exact up to float32 rounding). A missing bias (Whisper's k_proj) counts as zeros.
 */
function selfAttention(
  g: Graph,
  x: Value, // (B, T, D)
  weights: EncoderWeights,
  prefix: string,
  names: EncoderLayerNames,
  spec: EncoderLayerSpec,
): Value {
  const d = spec.hiddenSize;
  const heads = spec.heads;
  const headDim = d / heads;
  if (!Number.isInteger(headDim))
    throw new EncoderCheckpointError(`hidden size ${d} is not divisible by ${heads} heads`);
  const scale = headDim ** -0.5;
  const qkvWeight = new Float32Array(3 * d * d);
  const qkvBias = new Float32Array(3 * d);
  [names.q, names.k, names.v].forEach((name, i) => {
    const factor = i === 0 ? scale : 1;
    const weight = weights.read(`${prefix}${name}.weight`).data;
    if (weight.length !== d * d)
      throw new EncoderCheckpointError(`${prefix}${name}.weight has ${weight.length} values, want ${d}x${d}`);
    for (let j = 0; j < d * d; j++) qkvWeight[i * d * d + j] = weight[j] * factor;
    if (weights.has(`${prefix}${name}.bias`)) {
      const bias = weights.read(`${prefix}${name}.bias`).data;
      for (let j = 0; j < d; j++) qkvBias[i * d + j] = bias[j] * factor;
    }
  });
  const qkv = linear(
    x,
    g.initializer(`${prefix}self_attn.qkv.weight`, { dtype: 'float32', dims: [3 * d, d], data: qkvWeight }),
    g.initializer(`${prefix}self_attn.qkv.bias`, { dtype: 'float32', dims: [3 * d], data: qkvBias }),
  ); // (B, T, 3D)
  const [batch, tokens] = x.shape;
  const heads4 = (v: Value) => reshape(v, [batch, tokens, heads, headDim]); // (B, T, H, Dh)
  const [q, k, v] = split(qkv, -1, [d, d, d]).map(heads4);
  const scores = matmul(transpose(q, [0, 2, 1, 3]), transpose(k, [0, 2, 3, 1])); // (B, H, T, T)
  const context = matmul(softmax(scores, -1), transpose(v, [0, 2, 1, 3])); // (B, H, T, Dh)
  const merged = reshape(transpose(context, [0, 2, 1, 3]), [batch, tokens, d]); // (B, T, D)
  return linear(
    merged,
    frozenWeight(g, weights, `${prefix}${names.out}.weight`),
    frozenWeight(g, weights, `${prefix}${names.out}.bias`),
  );
}

// ---- patch embedding --------------------------------------------------------------------------

/** Conv with kernel = stride = patch, then (B, D, gh, gw) -> (B, gh*gw, D) in row-major patch order, as HF's flatten(2).transpose(1, 2). */
export function patchEmbedding(
  pixels: Value, // (B, C, S, S)
  weight: Value, // (D, C, P, P)
  bias: Value | undefined,
  patchSize: number,
): Value {
  const grid = conv(pixels, weight, bias, { strides: [patchSize, patchSize] }); // (B, D, gh, gw)
  const [batch, hidden, gh, gw] = grid.shape;
  const flat = reshape(grid, [batch, hidden, (gh as number) * (gw as number)]);
  return transpose(flat, [0, 2, 1]); // (B, N, D)
}

// ---- hidden_states indexing and feature selection ----------------------------------------------

/**
 * Resolves an index into HF's `hidden_states` tuple, which has numLayers + 1 entries:
 * [0] is the encoder input (embeddings, after CLIP's pre_layrnorm), [i] the output of layer i
 * (1-based), so -1 is the last layer's output (before any post-LayerNorm) and -2 the penultimate.
 */
export function hiddenStateIndex(index: number, numLayers: number): number {
  const resolved = index < 0 ? numLayers + 1 + index : index;
  if (!Number.isInteger(index) || resolved < 0 || resolved > numLayers) {
    throw new FeatureRequestError(
      `hidden_states index ${index} is out of range for ${numLayers} layers (valid: ${-(numLayers + 1)}..${numLayers})`,
    );
  }
  return resolved;
}

/** LLaVA's `mm_vision_select_feature` / HF's `vision_feature_select_strategy`. */
export const featureSelects = ['patch', 'cls_patch', 'default', 'full'] as const;
export type FeatureSelect = (typeof featureSelects)[number];

/** Whether a selection drops the first (CLS) token: 'patch' (LLaVA) = 'default' (HF) do. */
export function dropsFirstToken(select: FeatureSelect): boolean {
  if (!featureSelects.includes(select)) {
    throw new FeatureRequestError(
      `feature selection '${select}' is unknown; valid: ${featureSelects.join(', ')}`,
    );
  }
  return select === 'patch' || select === 'default';
}

/** LLaVA-style image features: one hidden state or several concatenated on the feature axis (HF semantics). */
export interface FeatureRequest {
  /** `vision_feature_layer`: an index into hidden_states, or a list whose states are concatenated. */
  layer: number | number[];
  select: FeatureSelect;
}

/** What a vision graph outputs; names of the graph outputs in `visionOutputs`. */
export interface VisionRequest {
  /** hidden_states indexes, each output as `hidden_states.<index as given>`. */
  hiddenStates?: number[];
  lastHiddenState?: boolean;
  poolerOutput?: boolean;
  features?: FeatureRequest;
}

export const visionOutputs = {
  features: 'image_features',
  lastHiddenState: 'last_hidden_state',
  poolerOutput: 'pooler_output',
  hiddenState: (index: number) => `hidden_states.${index}`,
} as const;

/** How many layers a request needs: only those are built (LLaVA's layer -2 skips the last one). */
export function layersNeeded(request: VisionRequest, numLayers: number): number {
  const indexes = [...(request.hiddenStates ?? [])];
  if (request.features) indexes.push(...[request.features.layer].flat());
  let needed = indexes.reduce((max, i) => Math.max(max, hiddenStateIndex(i, numLayers)), 0);
  if (request.lastHiddenState || request.poolerOutput) needed = numLayers;
  return needed;
}

/**
 * Marks the requested graph outputs. `hasCls` says whether token 0 is a CLS token (CLIP) so
 * that 'patch' selection may drop it; `pooled` builds pooler_output on demand.
 */
export function declareOutputs(
  g: Graph,
  request: VisionRequest,
  hidden: Value[],
  numLayers: number,
  hasCls: boolean,
  pooled: (() => Value) | null,
  lastHiddenState: () => Value = () => hidden[numLayers],
): void {
  let any = false;
  for (const index of request.hiddenStates ?? []) {
    g.output(visionOutputs.hiddenState(index), hidden[hiddenStateIndex(index, numLayers)]);
    any = true;
  }
  if (request.lastHiddenState) {
    g.output(visionOutputs.lastHiddenState, lastHiddenState());
    any = true;
  }
  if (request.poolerOutput) {
    if (!pooled)
      throw new FeatureRequestError(
        `${g.name}: pooler_output is not built for this tower; ask for last_hidden_state`,
      );
    g.output(visionOutputs.poolerOutput, pooled());
    any = true;
  }
  if (request.features) {
    const { layer, select } = request.features;
    const drop = dropsFirstToken(select);
    if (drop && !hasCls) {
      throw new FeatureRequestError(
        `${g.name} has no CLS token: select 'full' (or 'cls_patch') keeps every patch; '${select}' would drop one`,
      );
    }
    const states = [layer].flat().map((i) => {
      const state = hidden[hiddenStateIndex(i, numLayers)];
      return drop ? slice(state, 1, 1) : state;
    });
    g.output(visionOutputs.features, states.length === 1 ? states[0] : concat(states, -1));
    any = true;
  }
  if (!any) throw new FeatureRequestError(`${g.name}: the request asks for no output`);
}
