// Elementwise ops with ONNX broadcasting. Binary ops take a Value or a JS number (a scalar of the
// other operand's dtype) on either side: `mul(x, 0.5)`, `sub(1, p)`. Operands must share a dtype;
// there is no implicit promotion, because silent float64/float32 mixes are how fp16 graphs break.
// `maximum`/`minimum` are built from Where+Greater/Less: the WebGPU provider lacks Max and Min.

import type { DType } from '../dtype.js';
import { broadcastShapes, formatShape } from '../graph/dims.js';
import { attr, type Value } from '../graph/graph.js';
import { onnxTypeCode } from '../onnx/types.js';
import {
  FLOAT_TYPES,
  fail,
  graphOf,
  lift,
  NUMERIC_TYPES,
  type Operand,
  requireDType,
  requireSameDType,
} from './support.js';

function broadcastOp(op: string, operands: Operand[], resultDType?: DType, allowed = NUMERIC_TYPES): Value {
  const g = graphOf(op, ...operands);
  const values = lift(g, op, operands);
  const dtype = requireSameDType(g, op, values);
  for (const v of values) requireDType(g, op, v, allowed);
  let shape = [...values[0].shape];
  for (const v of values.slice(1)) {
    const next = broadcastShapes(shape, v.shape);
    if (!next) {
      fail(
        g,
        op,
        `shapes do not broadcast: ${values.map((x) => `${x.name} ${formatShape(x.shape)}`).join(' vs ')}`,
      );
    }
    shape = next;
  }
  return g.addNode(op, values, {}, [{ dtype: resultDType ?? dtype, shape }])[0];
}

function unaryOp(op: string, x: Value, allowed = FLOAT_TYPES): Value {
  requireDType(x.graph, op, x, allowed);
  return x.graph.addNode(op, [x], {}, [{ dtype: x.dtype, shape: [...x.shape] }])[0];
}

export const add = (a: Operand, b: Operand): Value => broadcastOp('Add', [a, b]);
export const sub = (a: Operand, b: Operand): Value => broadcastOp('Sub', [a, b]);
export const mul = (a: Operand, b: Operand): Value => broadcastOp('Mul', [a, b]);
export const div = (a: Operand, b: Operand): Value => broadcastOp('Div', [a, b]);

/** x ** exponent with a constant exponent (the only form autodiff supports). */
export function pow(x: Value, exponent: number): Value {
  return broadcastOp('Pow', [x, exponent], undefined, FLOAT_TYPES);
}

export const neg = (x: Value): Value => unaryOp('Neg', x, NUMERIC_TYPES);
export const abs = (x: Value): Value => unaryOp('Abs', x, NUMERIC_TYPES);
export const exp = (x: Value): Value => unaryOp('Exp', x);
export const log = (x: Value): Value => unaryOp('Log', x);
export const sqrt = (x: Value): Value => unaryOp('Sqrt', x);
export const reciprocal = (x: Value): Value => unaryOp('Reciprocal', x);
export const tanh = (x: Value): Value => unaryOp('Tanh', x);
export const sigmoid = (x: Value): Value => unaryOp('Sigmoid', x);
export const erf = (x: Value): Value => unaryOp('Erf', x);
export const relu = (x: Value): Value => unaryOp('Relu', x);
export const cos = (x: Value): Value => unaryOp('Cos', x);
export const sin = (x: Value): Value => unaryOp('Sin', x);
export const identity = (x: Value): Value => unaryOp('Identity', x, [...NUMERIC_TYPES, 'bool']);

/** Identity whose output autodiff treats as a constant (no gradient flows through it). */
export function stopGradient(x: Value): Value {
  const y = identity(x);
  y.producer!.stopGradient = true;
  return y;
}

export const equal = (a: Operand, b: Operand): Value =>
  broadcastOp('Equal', [a, b], 'bool', [...NUMERIC_TYPES, 'bool']);
export const less = (a: Operand, b: Operand): Value => broadcastOp('Less', [a, b], 'bool');
export const greater = (a: Operand, b: Operand): Value => broadcastOp('Greater', [a, b], 'bool');
export const lessOrEqual = (a: Operand, b: Operand): Value => broadcastOp('LessOrEqual', [a, b], 'bool');
export const greaterOrEqual = (a: Operand, b: Operand): Value =>
  broadcastOp('GreaterOrEqual', [a, b], 'bool');
export const and = (a: Value, b: Value): Value => broadcastOp('And', [a, b], 'bool', ['bool']);
export const or = (a: Value, b: Value): Value => broadcastOp('Or', [a, b], 'bool', ['bool']);
export const not = (x: Value): Value => unaryOp('Not', x, ['bool']);

/** cond ? x : y, broadcasting all three. */
export function where(cond: Value, x: Operand, y: Operand): Value {
  const g = cond.graph;
  requireDType(g, 'Where', cond, ['bool'], 'condition');
  const [vx, vy] = lift(g, 'Where', [x, y]);
  const dtype = requireSameDType(g, 'Where', [vx, vy]);
  const shape = broadcastShapes(cond.shape, vx.shape);
  const full = shape && broadcastShapes(shape, vy.shape);
  if (!full) {
    fail(
      g,
      'Where',
      `shapes do not broadcast: cond ${formatShape(cond.shape)}, x ${formatShape(vx.shape)}, y ${formatShape(vy.shape)}`,
    );
  }
  return g.addNode('Where', [cond, vx, vy], {}, [{ dtype, shape: full }])[0];
}

/** Elementwise max, as Where(a > b, a, b) so it runs on every execution provider. */
export function maximum(a: Operand, b: Operand): Value {
  const g = graphOf('Max', a, b);
  const [va, vb] = lift(g, 'Max', [a, b]);
  return where(greater(va, vb), va, vb);
}

/** Elementwise min, as Where(a < b, a, b). */
export function minimum(a: Operand, b: Operand): Value {
  const g = graphOf('Min', a, b);
  const [va, vb] = lift(g, 'Min', [a, b]);
  return where(less(va, vb), va, vb);
}

export function cast(x: Value, dtype: DType): Value {
  if (x.dtype === dtype) return x;
  return x.graph.addNode('Cast', [x], { to: attr.int(onnxTypeCode(dtype)) }, [
    { dtype, shape: [...x.shape] },
  ])[0];
}
