// Layers built from primitive ops, so autodiff needs no rules of its own for them: linear (Hugging
// Face weight layout [out, in]), the GELU family, SiLU, RMSNorm, LayerNorm and the causal-LM cross
// entropy. Formulas follow transformers' activations.py and modeling code.

import { formatShape } from '../graph/dims.js';
import type { Value } from '../graph/graph.js';
import {
  add,
  cast,
  div,
  equal,
  erf,
  exp,
  log,
  mul,
  neg,
  not,
  reciprocal,
  sigmoid,
  sqrt,
  stopGradient,
  sub,
  tanh,
  where,
} from './elementwise.js';
import { gatherElements } from './indexing.js';
import { layerNormalization, logSoftmax, matmul } from './nn.js';
import { reduceMax, reduceMean, reduceSum } from './reduce.js';
import { squeeze, transpose, unsqueeze } from './shape.js';
import { fail } from './support.js';

/**
 * x @ W^T + b with W in Hugging Face's [out, in] layout. onnxruntime folds the transpose of a
 * frozen W into the weight and fuses it into the MatMul for a trainable one.
 */
export function linear(x: Value, weight: Value, bias?: Value): Value {
  const g = x.graph;
  if (weight.rank !== 2)
    fail(g, 'MatMul', `linear weight ${weight.name} must be 2-D [out, in], got ${formatShape(weight.shape)}`);
  const y = matmul(x, transpose(weight, [1, 0]));
  return bias ? add(y, bias) : y;
}

/** Exact GELU: 0.5 x (1 + erf(x / sqrt 2)) (transformers' "gelu"). */
export function gelu(x: Value): Value {
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}

/** Tanh-approximated GELU (transformers' "gelu_pytorch_tanh" / "gelu_new"). */
export function geluTanh(x: Value): Value {
  const inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return mul(mul(x, 0.5), add(tanh(inner), 1));
}

/** CLIP's quick_gelu: x * sigmoid(1.702 x). */
export function quickGelu(x: Value): Value {
  return mul(x, sigmoid(mul(x, 1.702)));
}

export function silu(x: Value): Value {
  return mul(x, sigmoid(x));
}

/** Llama/Qwen2 RMSNorm: x / sqrt(mean(x^2) + eps) * w, over the last dim. */
export function rmsNorm(x: Value, weight: Value, eps: number): Value {
  const meanSquare = reduceMean(mul(x, x), [-1]);
  return mul(mul(x, reciprocal(sqrt(add(meanSquare, eps)))), weight);
}

/** LayerNorm over the last dim (the fused ONNX op). */
export function layerNorm(x: Value, weight: Value, bias: Value | undefined, eps: number): Value {
  return layerNormalization(x, weight, bias, eps, -1);
}

/**
 * log-softmax from ReduceMax/Exp/ReduceSum/Log, for providers without LogSoftmax (WebGPU).
 * The max is a constant for autodiff: it cancels out of the gradient.
 */
export function logSoftmaxComposed(x: Value, axis = -1): Value {
  const shifted = sub(x, stopGradient(reduceMax(x, [axis])));
  return sub(shifted, log(reduceSum(exp(shifted), [axis])));
}

export interface CrossEntropyOptions {
  ignoreIndex?: number;
  /** Use the composed log-softmax (for WebGPU graphs). */
  composed?: boolean;
}

/**
 * Mean cross entropy over every label != ignoreIndex in the whole batch (Hugging Face's causal-LM
 * loss after the shift). logits [..., V], labels [...] int32/int64. NaN when every label is ignored,
 * as in PyTorch.
 */
export function crossEntropy(logits: Value, labels: Value, options: CrossEntropyOptions = {}): Value {
  const g = logits.graph;
  const ignoreIndex = options.ignoreIndex ?? -100;
  if (labels.rank !== logits.rank - 1) {
    fail(
      g,
      'GatherElements',
      `labels ${formatShape(labels.shape)} must be logits ${formatShape(logits.shape)} without the last dim`,
    );
  }
  const logp = options.composed ? logSoftmaxComposed(logits) : logSoftmax(logits);
  const valid = not(equal(labels, ignoreIndex));
  const safeLabels = where(valid, labels, 0);
  const picked = squeeze(gatherElements(logp, unsqueeze(safeLabels, [-1]), -1), [-1]);
  const mask = cast(valid, logits.dtype);
  return div(neg(reduceSum(mul(picked, mask), undefined, false)), reduceSum(mask, undefined, false));
}
