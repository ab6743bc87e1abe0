// Indexing ops: Gather (embedding lookups, row picks), GatherElements (picking label
// log-probabilities), ScatterND and ScatterElements (writing rows; with reduction 'add' they are
// the gradients of the gathers). Indices may be int32 or int64 where ONNX allows; keep ids int32 in
// graphs meant for WebGPU, which runs int64 on the CPU. ScatterND's indices must be int64 (ONNX).

import type { Dim } from '../graph/dims.js';
import { formatShape } from '../graph/dims.js';
import { type Attr, attr, type Value } from '../graph/graph.js';
import { describe, fail, INDEX_TYPES, normalizeAxis, requireDType, requireSameDType } from './support.js';

/** data.take(indices, axis): out shape = data[:axis] + indices.shape + data[axis+1:]. */
export function gather(data: Value, indices: Value, axis = 0): Value {
  const g = data.graph;
  requireDType(g, 'Gather', indices, INDEX_TYPES, 'indices');
  const ax = normalizeAxis(g, 'Gather', axis, data.rank);
  const shape = [...data.shape.slice(0, ax), ...indices.shape, ...data.shape.slice(ax + 1)];
  return g.addNode('Gather', [data, indices], { axis: attr.int(ax) }, [{ dtype: data.dtype, shape }])[0];
}

/** out[i][j] = data[i][indices[i][j]] along `axis`; indices has data's rank. */
export function gatherElements(data: Value, indices: Value, axis: number): Value {
  const g = data.graph;
  requireDType(g, 'GatherElements', indices, INDEX_TYPES, 'indices');
  if (indices.rank !== data.rank) {
    fail(g, 'GatherElements', `indices ${describe(indices)} must have the rank of data ${describe(data)}`);
  }
  const ax = normalizeAxis(g, 'GatherElements', axis, data.rank);
  const shape: Dim[] = [...indices.shape];
  return g.addNode('GatherElements', [data, indices], { axis: attr.int(ax) }, [
    { dtype: data.dtype, shape },
  ])[0];
}

export type ScatterReduction = 'none' | 'add' | 'mul' | 'max' | 'min';

/**
 * Writes `updates` into a copy of `data` at `indices` [..., k] (int64) addressing the first k dims.
 * updates.shape must be indices.shape[:-1] + data.shape[k:].
 */
export function scatterND(
  data: Value,
  indices: Value,
  updates: Value,
  reduction: ScatterReduction = 'none',
): Value {
  const g = data.graph;
  const op = 'ScatterND';
  requireDType(g, op, indices, ['int64'], 'indices');
  requireSameDType(g, op, [data, updates]);
  const k = indices.shape[indices.rank - 1];
  if (typeof k !== 'number' || k > data.rank) {
    fail(
      g,
      op,
      `last dim of indices ${describe(indices)} must be a number <= rank of data ${describe(data)}`,
    );
  }
  const expected = [...indices.shape.slice(0, -1), ...data.shape.slice(k)];
  if (expected.length !== updates.rank) {
    fail(g, op, `updates ${describe(updates)} should have shape ${formatShape(expected)}`);
  }
  const attrs: Record<string, Attr> = reduction === 'none' ? {} : { reduction: attr.string(reduction) };
  return g.addNode(op, [data, indices, updates], attrs, [{ dtype: data.dtype, shape: [...data.shape] }])[0];
}

/** ScatterElements: the inverse of GatherElements (reduction 'add' accumulates repeats). */
export function scatterElements(
  data: Value,
  indices: Value,
  updates: Value,
  axis: number,
  reduction: ScatterReduction = 'none',
): Value {
  const g = data.graph;
  const op = 'ScatterElements';
  requireDType(g, op, indices, INDEX_TYPES, 'indices');
  requireSameDType(g, op, [data, updates]);
  if (indices.rank !== data.rank || updates.rank !== data.rank) {
    fail(
      g,
      op,
      `data ${describe(data)}, indices ${describe(indices)}, updates ${describe(updates)} need one rank`,
    );
  }
  const ax = normalizeAxis(g, op, axis, data.rank);
  const attrs: Record<string, Attr> = { axis: attr.int(ax) };
  if (reduction !== 'none') attrs.reduction = attr.string(reduction);
  return g.addNode(op, [data, indices, updates], attrs, [{ dtype: data.dtype, shape: [...data.shape] }])[0];
}

/** GatherND: out = data[indices[..., :]] with indices [..., k] (int64) addressing the first k dims. */
export function gatherND(data: Value, indices: Value): Value {
  const g = data.graph;
  requireDType(g, 'GatherND', indices, ['int64'], 'indices');
  const k = indices.shape[indices.rank - 1];
  if (typeof k !== 'number' || k > data.rank) {
    fail(
      g,
      'GatherND',
      `last dim of indices ${describe(indices)} must be a number <= rank of data ${describe(data)}`,
    );
  }
  const shape = [...indices.shape.slice(0, -1), ...data.shape.slice(k)];
  return g.addNode('GatherND', [data, indices], {}, [{ dtype: data.dtype, shape }])[0];
}
