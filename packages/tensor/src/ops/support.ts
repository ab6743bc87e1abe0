// Helpers shared by the op modules: build-time errors that name the op, the node and the shapes,
// scalar operands, axis normalisation, and run-time shape tensors for symbolic dims.

import type { DType } from '../dtype.js';
import { type Dim, formatShape, isStatic } from '../graph/dims.js';
import { attr, type Graph, GraphError, type Value } from '../graph/graph.js';

/** An op operand: a value, or a JS number that becomes a scalar constant of the other operand's dtype. */
export type Operand = Value | number;

/** Throws a GraphError naming the op and the node it would have created: "MatMul(layers.0/MatMul_1): ...". */
export function fail(g: Graph, op: string, message: string): never {
  throw new GraphError(`${op}(${g.peekNodeName(op)}): ${message}`);
}

export function describe(v: Value): string {
  return `${v.name} ${v.dtype}${formatShape(v.shape)}`;
}

/** The graph of the first Value among the operands. */
export function graphOf(op: string, ...operands: Operand[]): Graph {
  for (const o of operands) if (typeof o !== 'number') return o.graph;
  throw new GraphError(`${op}: at least one operand must be a graph value, got only numbers`);
}

/** Turns numbers into scalar constants of the dtype of the first Value operand. */
export function lift(g: Graph, op: string, operands: Operand[]): Value[] {
  const first = operands.find((o): o is Value => typeof o !== 'number');
  if (!first) fail(g, op, 'needs at least one graph value');
  return operands.map((o) => (typeof o === 'number' ? g.scalar(o, first.dtype) : o));
}

export function requireSameDType(g: Graph, op: string, values: Value[]): DType {
  const dtype = values[0].dtype;
  for (const v of values) {
    if (v.dtype !== dtype) fail(g, op, `dtypes differ: ${values.map(describe).join(' vs ')}`);
  }
  return dtype;
}

export function requireDType(
  g: Graph,
  op: string,
  v: Value,
  allowed: readonly DType[],
  role = 'input',
): void {
  if (!allowed.includes(v.dtype)) fail(g, op, `${role} ${describe(v)} must be one of ${allowed.join(', ')}`);
}

export const FLOAT_TYPES: readonly DType[] = ['float32', 'float16', 'float64', 'bfloat16'];
export const INDEX_TYPES: readonly DType[] = ['int32', 'int64'];
export const NUMERIC_TYPES: readonly DType[] = [...FLOAT_TYPES, 'int32', 'int64', 'int8', 'uint8'];

/** Resolves a possibly negative axis against `rank`, failing with the valid range. */
export function normalizeAxis(g: Graph, op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    fail(g, op, `axis ${axis} is out of range for rank ${rank} (valid: ${-rank}..${rank - 1})`);
  }
  return axis < 0 ? axis + rank : axis;
}

export function normalizeAxes(g: Graph, op: string, axes: number[], rank: number): number[] {
  const out = axes.map((a) => normalizeAxis(g, op, a, rank));
  if (new Set(out).size !== out.length) fail(g, op, `axes [${axes.join(', ')}] repeat an axis`);
  return out.sort((a, b) => a - b);
}

/** A 1-D int64 tensor holding `dims` at run time; symbolic dims are read from values that carry them. */
export function shapeTensor(g: Graph, dims: readonly Dim[]): Value {
  if (isStatic(dims)) return g.int64s([...dims]);
  const pieces: Value[] = [];
  let run: number[] = [];
  for (const d of dims) {
    if (typeof d === 'number') run.push(d);
    else {
      if (run.length) pieces.push(g.int64s(run));
      run = [];
      pieces.push(g.dimValue(d));
    }
  }
  if (run.length) pieces.push(g.int64s(run));
  if (pieces.length === 1) return pieces[0];
  const [out] = g.addNode('Concat', pieces, { axis: attr.int(0) }, [
    { dtype: 'int64', shape: [dims.length] },
  ]);
  return out;
}
