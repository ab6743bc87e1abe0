// Reductions over listed axes (ReduceSum/Mean/Max; axes as an input tensor, opset 18 style).
// keepdims defaults to true, as in ONNX, because broadcasting the result back is the common use.

import type { Dim } from '../graph/dims.js';
import { attr, type Value } from '../graph/graph.js';
import { NUMERIC_TYPES, normalizeAxes, requireDType } from './support.js';

function reduce(op: string, x: Value, axes: number[] | undefined, keepdims: boolean): Value {
  const g = x.graph;
  requireDType(g, op, x, NUMERIC_TYPES);
  const ax = axes === undefined ? x.shape.map((_, i) => i) : normalizeAxes(g, op, axes, x.rank);
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!ax.includes(i)) shape.push(d);
    else if (keepdims) shape.push(1);
  });
  const inputs = ax.length ? [x, g.int64s(ax)] : [x];
  return g.addNode(op, inputs, { keepdims: attr.int(keepdims ? 1 : 0) }, [{ dtype: x.dtype, shape }])[0];
}

/** Sum over `axes` (all axes when omitted). */
export const reduceSum = (x: Value, axes?: number[], keepdims = true): Value =>
  reduce('ReduceSum', x, axes, keepdims);
export const reduceMean = (x: Value, axes?: number[], keepdims = true): Value =>
  reduce('ReduceMean', x, axes, keepdims);
export const reduceMax = (x: Value, axes?: number[], keepdims = true): Value =>
  reduce('ReduceMax', x, axes, keepdims);
