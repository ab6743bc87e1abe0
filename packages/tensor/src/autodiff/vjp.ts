// The vector-Jacobian products: one entry per op type, one rule per input (null where the input has
// no gradient: indices, shapes, axes, conditions). A rule receives the forward node, its inputs
// `x`, outputs `y` and the incoming gradient `dy`, and returns the gradient for its input with that
// input's shape. Rules use fused forward results (softmax `y`, tanh `y`) instead of recomputing,
// and reduce broadcast gradients back with `sumToShape`. Style after tinygrad's gradient.py.

import { toNumbers } from '../dtype.js';
import { isStatic } from '../graph/dims.js';
import type { Graph, Node, Value } from '../graph/graph.js';
import { attr } from '../graph/graph.js';
import {
  add,
  cast,
  cos,
  div,
  equal,
  exp,
  greater,
  less,
  mul,
  neg,
  pow,
  sin,
  sqrt,
  sub,
  where,
} from '../ops/elementwise.js';
import { gatherElements, gatherND, scatterElements, scatterND } from '../ops/indexing.js';
import { cumsum, matmul } from '../ops/nn.js';
import { reduceMean, reduceSum } from '../ops/reduce.js';
import { concat, reshape, shapeOf, slice, squeeze, transpose, unsqueeze, zerosLike } from '../ops/shape.js';

export interface VjpContext {
  readonly g: Graph;
  readonly node: Node;
  /** The forward inputs (null for omitted optional ones). */
  readonly x: (Value | null)[];
  /** The forward outputs. */
  readonly y: Value[];
  /** Gradient of the loss with respect to output 0 (zeros when only other outputs have one). */
  readonly dy: Value;
  /** Gradients of every output, null where the loss does not depend on it. */
  readonly dys: (Value | null)[];
  int(name: string, fallback: number): number;
  ints(name: string): number[];
  /** The values of a constant int input (axes, shapes, slice bounds). */
  constInts(input: number): number[];
  /** Computes something once per node for all its rules (e.g. LayerNorm's normalised x). */
  memo<T>(key: string, make: () => T): T;
}

export type VjpRule = (c: VjpContext) => Value;
/** Fixed-arity ops list a rule per input; variadic ops (Concat) give one function of the index. */
export type VjpEntry = (VjpRule | null)[] | ((c: VjpContext, input: number) => Value);

export class VjpError extends Error {
  override name = 'VjpError';
}

// ---- helpers -------------------------------------------------------------------------------------

/** Sums a broadcast gradient back to `target`'s shape (numpy broadcasting in reverse). */
export function sumToShape(dy: Value, target: Value): Value {
  const lead = dy.rank - target.rank;
  const axes: number[] = [];
  for (let i = 0; i < dy.rank; i++) {
    if (i < lead) axes.push(i);
    else if (target.shape[i - lead] === 1 && dy.shape[i] !== 1) axes.push(i);
  }
  if (axes.length === 0) return dy;
  const summed = reduceSum(dy, axes, true);
  return lead > 0
    ? squeeze(
        summed,
        axes.filter((a) => a < lead),
      )
    : summed;
}

/** Swaps the last two axes, cancelling against a Transpose that produced `v` (linear's W^T). */
function transposeLast2(v: Value): Value {
  const p = v.producer;
  if (p && p.op === 'Transpose' && v.rank === 2) {
    const perm = p.attrs.perm;
    if (perm?.kind === 'ints' && perm.value[0] === 1 && perm.value[1] === 0) return p.inputs[0]!;
  }
  const perm = v.shape.map((_, i) => i);
  [perm[v.rank - 2], perm[v.rank - 1]] = [perm[v.rank - 1], perm[v.rank - 2]];
  return transpose(v, perm);
}

/** Reshape to another value's shape, as a constant when static and through Shape otherwise. */
function reshapeLike(v: Value, like: Value): Value {
  if (isStatic(like.shape)) return reshape(v, [...like.shape]);
  return v.graph.addNode('Reshape', [v, shapeOf(like)], {}, [{ dtype: v.dtype, shape: [...like.shape] }])[0];
}

function expandLike(v: Value, like: Value): Value {
  return v.graph.addNode('Expand', [v, shapeOf(like)], {}, [{ dtype: v.dtype, shape: [...like.shape] }])[0];
}

/** MatMul's gradient for b when a has batch dims and b is a plain matrix: one [K, M*] @ [M*, N] GEMM. */
function weightGradient(a: Value, dy: Value): Value {
  const k = a.shape[a.rank - 1];
  const n = dy.shape[dy.rank - 1];
  const a2 = reshape(a, [-1, k]);
  const dy2 = reshape(dy, [-1, n]);
  return matmul(transpose(a2, [1, 0]), dy2);
}

function reducedAxes(c: VjpContext): number[] {
  const x = c.x[0]!;
  if (c.x[1]) return c.constInts(1).map((a) => (a < 0 ? a + x.rank : a));
  return x.shape.map((_, i) => i);
}

/** dy of a reduction with its reduced axes restored (keepdims), ready to broadcast over x. */
function keptGradient(c: VjpContext): Value {
  if (c.int('keepdims', 1)) return c.dy;
  return unsqueeze(c.dy, reducedAxes(c));
}

function erfDerivative(x: Value): Value {
  return mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI));
}

// ---- layer normalization, recomputed from x (ORT's Mean/InvStdDev outputs are float-only) -------

interface NormParts {
  xhat: Value;
  invStd: Value;
  axes: number[];
}

function normParts(c: VjpContext): NormParts {
  return c.memo('norm', () => {
    const x = c.x[0]!;
    const axis = c.int('axis', -1);
    const start = axis < 0 ? axis + x.rank : axis;
    const axes = x.shape.map((_, i) => i).filter((i) => i >= start);
    const eps = c.node.attrs.epsilon?.kind === 'float' ? c.node.attrs.epsilon.value : 1e-5;
    const centered = sub(x, reduceMean(x, axes));
    const invStd = div(1, sqrt(add(reduceMean(mul(centered, centered), axes), eps)));
    return { xhat: mul(centered, invStd), invStd, axes };
  });
}

/** Sum over the leading (non-normalised) axes, shaped like the LayerNorm parameter `p`. */
function sumToParam(v: Value, p: Value, normalizedAxes: number[]): Value {
  const lead = v.shape.map((_, i) => i).filter((i) => !normalizedAxes.includes(i));
  const summed = lead.length ? reduceSum(v, lead, false) : v;
  return sumToShape(summed, p);
}

// ---- the table -----------------------------------------------------------------------------------

export const VJP: Record<string, VjpEntry> = {
  Identity: [(c) => c.dy],
  Add: [(c) => sumToShape(c.dy, c.x[0]!), (c) => sumToShape(c.dy, c.x[1]!)],
  Sub: [(c) => sumToShape(c.dy, c.x[0]!), (c) => sumToShape(neg(c.dy), c.x[1]!)],
  Mul: [(c) => sumToShape(mul(c.dy, c.x[1]!), c.x[0]!), (c) => sumToShape(mul(c.dy, c.x[0]!), c.x[1]!)],
  Div: [
    (c) => sumToShape(div(c.dy, c.x[1]!), c.x[0]!),
    (c) => sumToShape(neg(div(mul(c.dy, c.y[0]), c.x[1]!)), c.x[1]!),
  ],
  Neg: [(c) => neg(c.dy)],
  Abs: [(c) => where(less(c.x[0]!, 0), neg(c.dy), c.dy)],
  Exp: [(c) => mul(c.dy, c.y[0])],
  Log: [(c) => div(c.dy, c.x[0]!)],
  Sqrt: [(c) => div(mul(c.dy, 0.5), c.y[0])],
  Reciprocal: [(c) => neg(mul(c.dy, mul(c.y[0], c.y[0])))],
  Pow: [
    (c) => {
      const exponent = c.x[1]!;
      if (exponent.data?.data.length !== 1) {
        throw new VjpError(`Pow(${c.node.name}): only a constant scalar exponent has a gradient rule`);
      }
      const p = toNumbers(exponent.data)[0];
      const x = c.x[0]!;
      const slope = p === 2 ? mul(x, 2) : mul(pow(x, p - 1), p);
      return sumToShape(mul(c.dy, slope), x);
    },
    null,
  ],
  Tanh: [(c) => mul(c.dy, sub(1, mul(c.y[0], c.y[0])))],
  Sigmoid: [(c) => mul(c.dy, mul(c.y[0], sub(1, c.y[0])))],
  Erf: [(c) => mul(c.dy, erfDerivative(c.x[0]!))],
  Relu: [(c) => where(greater(c.x[0]!, 0), c.dy, 0)],
  Sin: [(c) => mul(c.dy, cos(c.x[0]!))],
  Cos: [(c) => neg(mul(c.dy, sin(c.x[0]!)))],
  Where: [
    null,
    (c) => sumToShape(where(c.x[0]!, c.dy, 0), c.x[1]!),
    (c) => sumToShape(where(c.x[0]!, 0, c.dy), c.x[2]!),
  ],
  Cast: [(c) => cast(c.dy, c.x[0]!.dtype)],

  MatMul: [
    (c) => {
      const [a, b] = [c.x[0]!, c.x[1]!];
      if (a.rank < 2 || b.rank < 2) throw new VjpError(`MatMul(${c.node.name}): 1-D operands have no rule`);
      return sumToShape(matmul(c.dy, transposeLast2(b)), a);
    },
    (c) => {
      const [a, b] = [c.x[0]!, c.x[1]!];
      if (a.rank < 2 || b.rank < 2) throw new VjpError(`MatMul(${c.node.name}): 1-D operands have no rule`);
      if (b.rank === 2 && a.rank > 2) return weightGradient(a, c.dy);
      return sumToShape(matmul(transposeLast2(a), c.dy), b);
    },
  ],
  Softmax: [
    (c) => {
      const axis = c.int('axis', -1);
      const y = c.y[0];
      return mul(y, sub(c.dy, reduceSum(mul(c.dy, y), [axis])));
    },
  ],
  LogSoftmax: [(c) => sub(c.dy, mul(exp(c.y[0]), reduceSum(c.dy, [c.int('axis', -1)])))],
  LayerNormalization: [
    (c) => {
      const { xhat, invStd, axes } = normParts(c);
      const dxhat = mul(c.dy, c.x[1]!);
      const inner = sub(sub(dxhat, reduceMean(dxhat, axes)), mul(xhat, reduceMean(mul(dxhat, xhat), axes)));
      return mul(inner, invStd);
    },
    (c) => sumToParam(mul(c.dy, normParts(c).xhat), c.x[1]!, normParts(c).axes),
    (c) => sumToParam(c.dy, c.x[2]!, normParts(c).axes),
  ],

  Reshape: [(c) => reshapeLike(c.dy, c.x[0]!), null],
  Transpose: [
    (c) => {
      const perm = c.ints('perm');
      const inverse = perm.map((_, i) => perm.indexOf(i));
      return transpose(c.dy, inverse);
    },
  ],
  Unsqueeze: [(c) => squeeze(c.dy, c.constInts(1)), null],
  Squeeze: [(c) => unsqueeze(c.dy, c.constInts(1)), null],
  Expand: [(c) => sumToShape(c.dy, c.x[0]!), null],
  Concat: (c, i) => {
    const axis = c.int('axis', 0);
    const dims = c.x.map((v) => v!.shape[axis]);
    if (dims.every((d) => typeof d === 'number')) {
      const start = (dims as number[]).slice(0, i).reduce((a, b) => a + b, 0);
      return slice(c.dy, axis, start, start + (dims[i] as number));
    }
    // Symbolic sizes: bounds at run time from the inputs' shapes.
    const g = c.g;
    const sizeOf = (v: Value) =>
      g.addNode('Shape', [v], { start: attr.int(axis), end: attr.int(axis + 1) }, [
        { dtype: 'int64', shape: [1] },
      ])[0];
    let start: Value = g.int64s([0]);
    for (let j = 0; j < i; j++) start = add(start, sizeOf(c.x[j]!));
    const end = add(start, sizeOf(c.x[i]!));
    const shape = [...c.dy.shape];
    shape[axis] = c.x[i]!.shape[axis];
    return g.addNode('Slice', [c.dy, start, end, g.int64s([axis])], {}, [{ dtype: c.dy.dtype, shape }])[0];
  },
  Split: [
    (c) => {
      const axis = c.int('axis', 0);
      const parts = c.dys.map((d, i) => d ?? zerosLike(c.y[i]));
      return concat(parts, axis);
    },
    null,
  ],
  Slice: [
    (c) => {
      const x = c.x[0]!;
      const [start] = c.constInts(1);
      const [end] = c.constInts(2);
      const axis = c.x[3] ? c.constInts(3)[0] : 0;
      const step = c.x[4] ? c.constInts(4)[0] : 1;
      const dim = x.shape[axis];
      if (step !== 1 || typeof dim !== 'number') {
        // General case: scatter the slice back into zeros at its positions.
        return scatterSlice(c, x, axis, start, end, step);
      }
      const s = Math.min(Math.max(start < 0 ? start + dim : start, 0), dim);
      const e = Math.min(Math.max(end < 0 ? end + dim : end, s), dim);
      const pads = new Array(2 * x.rank).fill(0);
      pads[axis] = s;
      pads[axis + x.rank] = dim - e;
      return c.g.addNode('Pad', [c.dy, c.g.int64s(pads)], {}, [{ dtype: x.dtype, shape: [...x.shape] }])[0];
    },
    null,
    null,
    null,
    null,
  ],
  Gather: [
    (c) => {
      const [data, indices] = [c.x[0]!, c.x[1]!];
      if (c.int('axis', 0) !== 0)
        throw new VjpError(`Gather(${c.node.name}): only axis 0 has a gradient rule`);
      const idx = unsqueeze(cast(indices, 'int64'), [-1]);
      return scatterND(zerosLike(data), idx, c.dy, 'add');
    },
    null,
  ],
  GatherElements: [(c) => scatterElements(zerosLike(c.x[0]!), c.x[1]!, c.dy, c.int('axis', 0), 'add'), null],
  ScatterND: [
    (c) => {
      const reduction = c.node.attrs.reduction;
      if (reduction?.kind === 'string' && reduction.value === 'add') return c.dy;
      if (reduction && !(reduction.kind === 'string' && reduction.value === 'none')) {
        throw new VjpError(`ScatterND(${c.node.name}): no rule for reduction '${String(reduction.value)}'`);
      }
      return scatterND(c.dy, c.x[1]!, zerosLike(c.x[2]!));
    },
    null,
    (c) => gatherND(c.dy, c.x[1]!),
  ],
  ScatterElements: [
    (c) => {
      const reduction = c.node.attrs.reduction;
      if (reduction?.kind === 'string' && reduction.value === 'add') return c.dy;
      return scatterElements(c.dy, c.x[1]!, zerosLike(c.x[2]!), c.int('axis', 0));
    },
    null,
    (c) => gatherElements(c.dy, c.x[1]!, c.int('axis', 0)),
  ],
  ReduceSum: [(c) => expandLike(keptGradient(c), c.x[0]!), null],
  ReduceMean: [
    (c) => {
      const x = c.x[0]!;
      const axes = reducedAxes(c);
      const dims = axes.map((a) => x.shape[a]);
      const count = dims.every((d) => typeof d === 'number')
        ? c.g.scalar(
            (dims as number[]).reduce((a, b) => a * b, 1),
            x.dtype,
          )
        : cast(
            dims.map((d) => c.g.dimValue(d)).reduce((a, b) => mul(a, b)),
            x.dtype,
          );
      return expandLike(div(keptGradient(c), count), x);
    },
    null,
  ],
  ReduceMax: [
    (c) => {
      const x = c.x[0]!;
      const kept = c.int('keepdims', 1) ? c.y[0] : unsqueeze(c.y[0], reducedAxes(c));
      const hits = cast(equal(x, kept), x.dtype);
      // Ties share the gradient equally, as PyTorch's amax does.
      return mul(hits, div(keptGradient(c), reduceSum(hits, reducedAxes(c))));
    },
    null,
  ],
  CumSum: [
    (c) => {
      const axis = c.constInts(1)[0];
      return cumsum(c.dy, axis, {
        exclusive: c.int('exclusive', 0) === 1,
        reverse: c.int('reverse', 0) !== 1,
      });
    },
    null,
  ],
};

/** Slice with a step, or on a symbolic dim: ScatterND of the gradient into zeros at the picked positions. */
function scatterSlice(
  c: VjpContext,
  x: Value,
  axis: number,
  start: number,
  end: number,
  step: number,
): Value {
  const g = c.g;
  const rank = x.rank;
  // Move `axis` first, scatter rows, move it back.
  const perm = [axis, ...x.shape.map((_, i) => i).filter((i) => i !== axis)];
  const inverse = perm.map((_, i) => perm.indexOf(i));
  const xT = transpose(x, perm);
  const dyT = transpose(c.dy, perm);
  const positions = g.addNode(
    'Slice',
    [
      g.addNode(
        'Range',
        [g.scalar(0, 'int64'), squeeze(g.dimValue(x.shape[axis]), [0]), g.scalar(1, 'int64')],
        {},
        [{ dtype: 'int64', shape: [x.shape[axis]] }],
      )[0],
      g.int64s([start]),
      g.int64s([end]),
      g.int64s([0]),
      g.int64s([step]),
    ],
    {},
    [{ dtype: 'int64', shape: [c.dy.shape[axis]] }],
  )[0];
  const scattered = scatterND(zerosLike(xT), unsqueeze(positions, [-1]), dyT);
  return rank > 1 ? transpose(scattered, inverse) : scattered;
}
