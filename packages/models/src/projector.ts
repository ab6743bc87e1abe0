// LLaVA projectors from vision/audio features (B, N, dv) to LM embeddings (B, N, d), with
// llava-hf's weight naming (`multi_modal_projector.linear_1/linear_2`, ours `projector.*`):
// - linear:      linear_1
// - mlp2x_gelu:  linear_1 -> exact-erf GELU -> linear_2 (nn.GELU(), LLaVA-1.5's projector)
// The projector's weights are graph parameters (fed each run), so `grad` can train them.
import { type ProjectorType, projectorTypes } from '@mmit/contracts';
import { mulberry32 } from '@mmit/random';
import { flatten, type Graph, gelu, linear, type Value } from '@mmit/tensor';

// The type names are part of the run spec's contract.
export { type ProjectorType, projectorTypes };

export class UnknownProjectorError extends Error {
  override name = 'UnknownProjectorError';
}

export interface ProjectorSpec {
  type: ProjectorType;
  /** Feature width dv. */
  inputDim: number;
  /** LM hidden size d. */
  outputDim: number;
}

export function parseProjectorType(name: string): ProjectorType {
  if (!(projectorTypes as readonly string[]).includes(name)) {
    throw new UnknownProjectorError(`projector '${name}' is unknown; valid: ${projectorTypes.join(', ')}`);
  }
  return name as ProjectorType;
}

/** Parameter names (ours) and dims, in a stable order. */
export function projectorParamDims(spec: ProjectorSpec): Record<string, number[]> {
  const dims: Record<string, number[]> = {
    'projector.linear_1.weight': [spec.outputDim, spec.inputDim],
    'projector.linear_1.bias': [spec.outputDim],
  };
  if (spec.type === 'mlp2x_gelu') {
    dims['projector.linear_2.weight'] = [spec.outputDim, spec.outputDim];
    dims['projector.linear_2.bias'] = [spec.outputDim];
  }
  return dims;
}

/** Declares the projector's parameters as graph params. */
export function projectorParams(g: Graph, spec: ProjectorSpec): Record<string, Value> {
  return Object.fromEntries(
    Object.entries(projectorParamDims(spec)).map(([name, dims]) => [name, g.param(name, 'float32', dims)]),
  );
}

/** features (..., dv) -> (..., d). */
export function applyProjector(spec: ProjectorSpec, params: Record<string, Value>, features: Value): Value {
  const g = features.graph;
  return g.scope('projector', () => {
    const h = linear(features, params['projector.linear_1.weight'], params['projector.linear_1.bias']);
    if (spec.type === 'linear') return h;
    return linear(gelu(h), params['projector.linear_2.weight'], params['projector.linear_2.bias']);
  });
}

/** The projected features as rows (B*N, d), in the order LLaVA assigns them to `<image>` tokens. */
export function projectedRows(spec: ProjectorSpec, params: Record<string, Value>, features: Value): Value {
  return flatten(applyProjector(spec, params, features), 0, 2);
}

/**
 * PyTorch's nn.Linear initialisation (kaiming-uniform with a=sqrt(5): weight and bias both
 * U(-1/sqrt(in), 1/sqrt(in))), from a seeded generator so runs are reproducible.
 */
export function initProjector(spec: ProjectorSpec, seed = 0): Record<string, Float32Array> {
  const random = mulberry32(seed);
  const out: Record<string, Float32Array> = {};
  for (const [name, dims] of Object.entries(projectorParamDims(spec))) {
    const fanIn = name.startsWith('projector.linear_1') ? spec.inputDim : spec.outputDim;
    const bound = 1 / Math.sqrt(fanIn);
    const values = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) values[i] = (random() * 2 - 1) * bound;
    out[name] = values;
  }
  return out;
}
