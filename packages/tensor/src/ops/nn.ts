// Linear algebra and fused neural-network ops: MatMul, Gemm, Softmax, LogSoftmax,
// LayerNormalization, Conv (1-D/2-D) and CumSum. The fused ops matter twice: onnxruntime runs them
// as single kernels, and autodiff gives them analytic gradients instead of differentiating their parts.

import { broadcastShapes, type Dim, dimsEqual, formatShape } from '../graph/dims.js';
import { attr, type Value } from '../graph/graph.js';
import { describe, FLOAT_TYPES, fail, normalizeAxis, requireDType, requireSameDType } from './support.js';

/** numpy matmul: [..., M, K] @ [..., K, N] -> [..., M, N], batch dims broadcast; 1-D operands as numpy. */
export function matmul(a: Value, b: Value): Value {
  const g = a.graph;
  const op = 'MatMul';
  const dtype = requireSameDType(g, op, [a, b]);
  requireDType(g, op, a, [...FLOAT_TYPES, 'int32', 'int64']);
  if (a.rank === 0 || b.rank === 0)
    fail(g, op, `operands must have rank >= 1: ${describe(a)}, ${describe(b)}`);
  const sa = a.rank === 1 ? [1, a.shape[0]] : a.shape;
  const sb = b.rank === 1 ? [b.shape[0], 1] : b.shape;
  const k1 = sa[sa.length - 1];
  const k2 = sb[sb.length - 2];
  if (!innerDimsMatch(k1, k2)) {
    fail(g, op, `inner dims ${k1} vs ${k2} (a ${formatShape(a.shape)}, b ${formatShape(b.shape)})`);
  }
  const batch = broadcastShapes(sa.slice(0, -2), sb.slice(0, -2));
  if (!batch) fail(g, op, `batch dims do not broadcast: ${describe(a)}, ${describe(b)}`);
  const shape: Dim[] = [...batch];
  if (a.rank > 1) shape.push(sa[sa.length - 2]);
  if (b.rank > 1) shape.push(sb[sb.length - 1]);
  return g.addNode(op, [a, b], {}, [{ dtype, shape }])[0];
}

function innerDimsMatch(k1: Dim, k2: Dim): boolean {
  return typeof k1 !== typeof k2 || dimsEqual(k1, k2);
}

export interface GemmOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
}

/** alpha * op(a) @ op(b) + beta * c for 2-D a and b (c broadcasts to [M, N]). */
export function gemm(a: Value, b: Value, c?: Value, options: GemmOptions = {}): Value {
  const g = a.graph;
  const op = 'Gemm';
  const dtype = requireSameDType(g, op, c ? [a, b, c] : [a, b]);
  requireDType(g, op, a, FLOAT_TYPES);
  if (a.rank !== 2 || b.rank !== 2) fail(g, op, `a and b must be 2-D: ${describe(a)}, ${describe(b)}`);
  const [m, k1] = options.transA ? [a.shape[1], a.shape[0]] : a.shape;
  const [k2, n] = options.transB ? [b.shape[1], b.shape[0]] : b.shape;
  if (!innerDimsMatch(k1, k2))
    fail(g, op, `inner dims ${k1} vs ${k2} (a ${formatShape(a.shape)}, b ${formatShape(b.shape)})`);
  if (c && !broadcastShapes([m, n], c.shape))
    fail(g, op, `c ${describe(c)} does not broadcast to [${m}, ${n}]`);
  const attrs = {
    transA: attr.int(options.transA ? 1 : 0),
    transB: attr.int(options.transB ? 1 : 0),
    alpha: attr.float(options.alpha ?? 1),
    beta: attr.float(options.beta ?? 1),
  };
  return g.addNode(op, c ? [a, b, c] : [a, b], attrs, [{ dtype, shape: [m, n] }])[0];
}

export function softmax(x: Value, axis = -1): Value {
  const g = x.graph;
  requireDType(g, 'Softmax', x, FLOAT_TYPES);
  const ax = normalizeAxis(g, 'Softmax', axis, x.rank);
  return g.addNode('Softmax', [x], { axis: attr.int(ax) }, [{ dtype: x.dtype, shape: [...x.shape] }])[0];
}

/** The fused LogSoftmax (not on WebGPU: use logSoftmaxComposed from composites there). */
export function logSoftmax(x: Value, axis = -1): Value {
  const g = x.graph;
  requireDType(g, 'LogSoftmax', x, FLOAT_TYPES);
  const ax = normalizeAxis(g, 'LogSoftmax', axis, x.rank);
  return g.addNode('LogSoftmax', [x], { axis: attr.int(ax) }, [{ dtype: x.dtype, shape: [...x.shape] }])[0];
}

/** LayerNormalization over the trailing dims from `axis`; scale (and bias) have those dims' shape. */
export function layerNormalization(x: Value, scale: Value, bias?: Value, epsilon = 1e-5, axis = -1): Value {
  const g = x.graph;
  const op = 'LayerNormalization';
  requireDType(g, op, x, FLOAT_TYPES);
  requireSameDType(g, op, bias ? [x, scale, bias] : [x, scale]);
  const ax = normalizeAxis(g, op, axis, x.rank);
  const normalized = x.shape.slice(ax);
  for (const p of bias ? [scale, bias] : [scale]) {
    if (!broadcastShapes(normalized, p.shape) || p.rank > normalized.length) {
      fail(
        g,
        op,
        `${describe(p)} must match the normalized dims ${formatShape(normalized)} of ${describe(x)}`,
      );
    }
  }
  const attrs = { axis: attr.int(ax), epsilon: attr.float(epsilon) };
  return g.addNode(op, bias ? [x, scale, bias] : [x, scale], attrs, [
    { dtype: x.dtype, shape: [...x.shape] },
  ])[0];
}

export interface ConvOptions {
  strides?: number[];
  /** [begin..., end...] per spatial dim, as ONNX. */
  pads?: number[];
  dilations?: number[];
  group?: number;
}

/** Conv over 1 or 2 spatial dims: x [N, C, ...], w [M, C/group, ...k], b [M]. Spatial dims must be numbers. */
export function conv(x: Value, w: Value, b?: Value, options: ConvOptions = {}): Value {
  const g = x.graph;
  const op = 'Conv';
  const dtype = requireSameDType(g, op, b ? [x, w, b] : [x, w]);
  requireDType(g, op, x, FLOAT_TYPES);
  const spatial = x.rank - 2;
  if (spatial < 1 || spatial > 2 || w.rank !== x.rank) {
    fail(g, op, `want x [N, C, ...1 or 2 dims] and w of the same rank: ${describe(x)}, ${describe(w)}`);
  }
  const group = options.group ?? 1;
  const strides = options.strides ?? Array(spatial).fill(1);
  const pads = options.pads ?? Array(spatial * 2).fill(0);
  const dilations = options.dilations ?? Array(spatial).fill(1);
  const cin = x.shape[1];
  if (typeof cin === 'number' && typeof w.shape[1] === 'number' && cin !== w.shape[1] * group) {
    fail(g, op, `input channels ${cin} vs weight ${describe(w)} with group ${group}`);
  }
  const out: Dim[] = [x.shape[0], w.shape[0]];
  for (let i = 0; i < spatial; i++) {
    const size = x.shape[2 + i];
    const k = w.shape[2 + i];
    if (typeof size !== 'number' || typeof k !== 'number') {
      fail(g, op, `spatial dims must be numbers: ${describe(x)}, ${describe(w)}`);
    }
    out.push(Math.floor((size + pads[i] + pads[i + spatial] - dilations[i] * (k - 1) - 1) / strides[i]) + 1);
  }
  const attrs = {
    strides: attr.ints(strides),
    pads: attr.ints(pads),
    dilations: attr.ints(dilations),
    group: attr.int(group),
    kernel_shape: attr.ints(w.shape.slice(2) as number[]),
  };
  return g.addNode(op, b ? [x, w, b] : [x, w], attrs, [{ dtype, shape: out }])[0];
}

/** Running sum along `axis` (exclusive: shifted by one; reverse: from the end). */
export function cumsum(
  x: Value,
  axis: number,
  options: { exclusive?: boolean; reverse?: boolean } = {},
): Value {
  const g = x.graph;
  const ax = normalizeAxis(g, 'CumSum', axis, x.rank);
  const attrs = {
    exclusive: attr.int(options.exclusive ? 1 : 0),
    reverse: attr.int(options.reverse ? 1 : 0),
  };
  const axisValue = g.constant({ dtype: 'int64', dims: [], data: BigInt64Array.of(BigInt(ax)) });
  return g.addNode('CumSum', [x, axisValue], attrs, [{ dtype: x.dtype, shape: [...x.shape] }])[0];
}
