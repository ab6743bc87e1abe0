// Ops that move or reinterpret data without arithmetic: Reshape (0 and -1 semantics, symbolic
// dims), Transpose, Concat, Slice, Split, Unsqueeze, Squeeze, Expand, Shape, Range and
// ConstantOfShape. Shapes are inferred here at build time; symbolic dims that must exist at run
// time are read from the shape of a value that carries them (Graph.dimValue).

import { type DType, hostTensor } from '../dtype.js';
import {
  addDims,
  broadcastShapes,
  type Dim,
  dimsEqual,
  divDims,
  formatShape,
  mulDims,
  productOf,
  subDim,
} from '../graph/dims.js';
import { attr, type Graph, type Value } from '../graph/graph.js';
import { onnxTypeCode } from '../onnx/types.js';
import { describe, fail, normalizeAxes, normalizeAxis, requireSameDType, shapeTensor } from './support.js';

/**
 * Reshape with ONNX semantics: 0 copies the input dim at that index, -1 is inferred (at most one),
 * a string is a symbolic dim (e.g. 'batch') resolved at run time.
 */
export function reshape(x: Value, dims: Dim[]): Value {
  const g = x.graph;
  const op = 'Reshape';
  if (dims.filter((d) => d === -1).length > 1) fail(g, op, `at most one -1 in target ${formatShape(dims)}`);
  const resolved: Dim[] = dims.map((d, i) => {
    if (d !== 0) return d;
    if (i >= x.rank) fail(g, op, `0 at index ${i} but input ${describe(x)} has rank ${x.rank}`);
    return x.shape[i];
  });
  const total = productOf(x.shape);
  const inferAt = resolved.indexOf(-1);
  if (inferAt >= 0) {
    const known = productOf(resolved.filter((_, i) => i !== inferAt));
    const inferred = divDims(total, known);
    if (inferred === null) fail(g, op, `cannot infer -1: ${describe(x)} into ${formatShape(dims)}`);
    resolved[inferAt] = inferred;
  } else {
    const ratio = divDims(total, productOf(resolved));
    if ((typeof ratio === 'number' && ratio !== 1) || (ratio === null && typeof total === 'number')) {
      fail(
        g,
        op,
        `${describe(x)} has ${total} elements, target ${formatShape(dims)} has ${productOf(resolved)}`,
      );
    }
  }
  return g.addNode(op, [x, reshapeTarget(g, x, dims)], {}, [{ dtype: x.dtype, shape: resolved }])[0];
}

/** The run-time shape tensor for Reshape, using 0 and -1 to avoid Shape nodes where it can. */
function reshapeTarget(g: Graph, x: Value, dims: Dim[]): Value {
  const copied = dims.map((d, i) =>
    typeof d === 'string' && i < x.rank && dimsEqual(d, x.shape[i]) ? 0 : d,
  );
  const symbolic = copied.filter((d) => typeof d === 'string');
  if (symbolic.length === 0) return g.int64s(copied as number[]);
  if (symbolic.length === 1 && !copied.includes(-1)) {
    return g.int64s(copied.map((d) => (typeof d === 'string' ? -1 : d)));
  }
  return shapeTensor(g, copied);
}

/** Merges dims [from, to) into one: flatten(x, 0, 2) turns [B, T, C] into [B*T, C]. */
export function flatten(x: Value, from: number, to: number): Value {
  const merged = mulDims(1, productOf(x.shape.slice(from, to)));
  return reshape(x, [...x.shape.slice(0, from), merged, ...x.shape.slice(to)]);
}

export function transpose(x: Value, perm: number[]): Value {
  const g = x.graph;
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== x.rank || sorted.some((p, i) => p !== i)) {
    fail(g, 'Transpose', `perm [${perm.join(', ')}] is not a permutation of the axes of ${describe(x)}`);
  }
  const shape = perm.map((p) => x.shape[p]);
  return g.addNode('Transpose', [x], { perm: attr.ints(perm) }, [{ dtype: x.dtype, shape }])[0];
}

/** Swaps two axes (negative axes allowed): the usual [B, T, H, D] -> [B, H, T, D]. */
export function swapAxes(x: Value, a: number, b: number): Value {
  const perm = x.shape.map((_, i) => i);
  const ia = normalizeAxis(x.graph, 'Transpose', a, x.rank);
  const ib = normalizeAxis(x.graph, 'Transpose', b, x.rank);
  [perm[ia], perm[ib]] = [perm[ib], perm[ia]];
  return transpose(x, perm);
}

export function concat(values: Value[], axis: number): Value {
  const op = 'Concat';
  if (values.length === 0) throw new Error('Concat needs at least one value');
  const g = values[0].graph;
  const dtype = requireSameDType(g, op, values);
  const rank = values[0].rank;
  const ax = normalizeAxis(g, op, axis, rank);
  const shape = [...values[0].shape];
  for (const v of values.slice(1)) {
    if (v.rank !== rank) fail(g, op, `ranks differ: ${values.map(describe).join(', ')}`);
    v.shape.forEach((d, i) => {
      if (i === ax) return;
      const mismatch = typeof d === typeof shape[i] && !dimsEqual(d, shape[i]);
      if (mismatch)
        fail(g, op, `dim ${i} differs off the concat axis ${ax}: ${values.map(describe).join(', ')}`);
      if (typeof shape[i] === 'string' && typeof d === 'number') shape[i] = d;
    });
    shape[ax] = addDims(shape[ax], v.shape[ax]);
  }
  return g.addNode(op, values, { axis: attr.int(ax) }, [{ dtype, shape }])[0];
}

const TO_END = Number.MAX_SAFE_INTEGER;

/** The length of [start, end) on a dim of size `dim`, with Python/ONNX negative-index semantics. */
function sliceLength(dim: Dim, start: number, end: number, step: number): Dim | null {
  if (typeof dim === 'number') {
    const clamp = (i: number, hi: number) => Math.min(Math.max(i < 0 ? i + dim : i, step > 0 ? 0 : -1), hi);
    const s = clamp(start, step > 0 ? dim : dim - 1);
    const e = clamp(end, step > 0 ? dim : dim - 1);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  if (step !== 1) return null;
  if (start >= 0 && end === TO_END) return subDim(dim, start);
  if (start >= 0 && end >= 0) return end - start;
  if (start >= 0 && end < 0) return subDim(dim, start - end);
  if (start < 0 && end === TO_END) return -start;
  if (start < 0 && end < 0) return Math.max(0, end - start);
  return null;
}

/**
 * x[start:end:step] along one axis (Python semantics; `end` omitted means to the end).
 * On a symbolic dim, a non-negative `end` is taken to lie inside the dim.
 */
export function slice(x: Value, axis: number, start: number, end: number = TO_END, step = 1): Value {
  const g = x.graph;
  const ax = normalizeAxis(g, 'Slice', axis, x.rank);
  if (step === 0) fail(g, 'Slice', 'step must not be 0');
  const length = sliceLength(x.shape[ax], start, end, step);
  if (length === null) {
    fail(g, 'Slice', `cannot infer the length of [${start}:${end}:${step}] on symbolic dim '${x.shape[ax]}'`);
  }
  const shape = [...x.shape];
  shape[ax] = length;
  const inputs = [g.int64s([start]), g.int64s([end]), g.int64s([ax]), g.int64s([step])];
  return g.addNode('Slice', [x, ...inputs], {}, [{ dtype: x.dtype, shape }])[0];
}

/** Splits along `axis` into pieces of the given sizes. */
export function split(x: Value, axis: number, sizes: number[]): Value[] {
  const g = x.graph;
  const ax = normalizeAxis(g, 'Split', axis, x.rank);
  const dim = x.shape[ax];
  const total = sizes.reduce((a, b) => a + b, 0);
  if (typeof dim === 'number' && dim !== total) {
    fail(
      g,
      'Split',
      `sizes [${sizes.join(', ')}] sum to ${total}, but dim ${ax} of ${describe(x)} is ${dim}`,
    );
  }
  const outputs = sizes.map((size) => {
    const shape = [...x.shape];
    shape[ax] = size;
    return { dtype: x.dtype, shape };
  });
  return g.addNode('Split', [x, g.int64s(sizes)], { axis: attr.int(ax) }, outputs);
}

export function unsqueeze(x: Value, axes: number[]): Value {
  const g = x.graph;
  const rank = x.rank + axes.length;
  const ax = normalizeAxes(g, 'Unsqueeze', axes, rank);
  const shape: Dim[] = [];
  let next = 0;
  for (let i = 0; i < rank; i++) shape.push(ax.includes(i) ? 1 : x.shape[next++]);
  return g.addNode('Unsqueeze', [x, g.int64s(ax)], {}, [{ dtype: x.dtype, shape }])[0];
}

export function squeeze(x: Value, axes: number[]): Value {
  const g = x.graph;
  const ax = normalizeAxes(g, 'Squeeze', axes, x.rank);
  for (const a of ax) {
    if (x.shape[a] !== 1) fail(g, 'Squeeze', `dim ${a} of ${describe(x)} is ${x.shape[a]}, not 1`);
  }
  const shape = x.shape.filter((_, i) => !ax.includes(i));
  return g.addNode('Squeeze', [x, g.int64s(ax)], {}, [{ dtype: x.dtype, shape }])[0];
}

/** Broadcasts x to `dims` (numpy rules; a 1 in `dims` keeps x's dim). */
export function expand(x: Value, dims: Dim[]): Value {
  const g = x.graph;
  const shape = broadcastShapes(x.shape, dims);
  if (!shape) fail(g, 'Expand', `${describe(x)} does not broadcast to ${formatShape(dims)}`);
  return g.addNode('Expand', [x, shapeTensor(g, dims)], {}, [{ dtype: x.dtype, shape }])[0];
}

/** The run-time shape of x as a 1-D int64 tensor. */
export function shapeOf(x: Value): Value {
  return x.graph.addNode('Shape', [x], {}, [{ dtype: 'int64', shape: [x.rank] }])[0];
}

/** [0, 1, ..., length-1] as a 1-D tensor (length may be symbolic). */
export function arange(
  g: Graph,
  length: Dim,
  dtype: 'int32' | 'int64' | 'float32' | 'float64' = 'int64',
): Value {
  const limit1 = g.dimValue(length);
  let limit = g.addNode('Squeeze', [limit1, g.int64s([0])], {}, [{ dtype: 'int64', shape: [] }])[0];
  if (dtype !== 'int64') {
    limit = g.addNode('Cast', [limit], { to: attr.int(onnxTypeCode(dtype)) }, [{ dtype, shape: [] }])[0];
  }
  return g.addNode('Range', [g.scalar(0, dtype), limit, g.scalar(1, dtype)], {}, [
    { dtype, shape: [length] },
  ])[0];
}

/** A tensor of `dims` filled with `value` (ConstantOfShape; dims may be symbolic). */
export function full(g: Graph, dims: Dim[], value: number, dtype: DType): Value {
  const fill = attr.tensor(hostTensor(dtype, [1], [value]));
  return g.addNode('ConstantOfShape', [shapeTensor(g, dims)], { value: fill }, [
    { dtype, shape: [...dims] },
  ])[0];
}

export function zeros(g: Graph, dims: Dim[], dtype: DType): Value {
  return full(g, dims, 0, dtype);
}

/** Zeros with x's run-time shape and dtype. */
export function zerosLike(x: Value): Value {
  const fill = attr.tensor(hostTensor(x.dtype, [1], [0]));
  return x.graph.addNode('ConstantOfShape', [shapeOf(x)], { value: fill }, [
    { dtype: x.dtype, shape: [...x.shape] },
  ])[0];
}

/** Zero padding: `pads` is [begin..., end...] per axis (ONNX Pad, constant mode). */
export function pad(x: Value, pads: number[]): Value {
  const g = x.graph;
  if (pads.length !== 2 * x.rank)
    fail(g, 'Pad', `pads [${pads.join(', ')}] must have 2 * rank = ${2 * x.rank} entries`);
  const shape = x.shape.map((d, i) => addDims(d, pads[i] + pads[i + x.rank]));
  return g.addNode('Pad', [x, g.int64s(pads)], {}, [{ dtype: x.dtype, shape }])[0];
}
