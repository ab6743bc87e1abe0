// Reverse-mode autodiff over a built graph: `grad(g, loss, wrt)` appends the backward nodes to the
// same graph, so one training step is one ONNX model (outputs: loss and gradients). Only nodes on a
// path from some `wrt` value to `loss` are differentiated, so frozen weights and initializers get no
// gradient nodes at all. Gradients of values used several times accumulate with Add.

import { isFloat, toNumbers } from '../dtype.js';
import { dimsEqual, formatShape } from '../graph/dims.js';
import { type Graph, GraphError, type Node, type Value } from '../graph/graph.js';
import { add } from '../ops/elementwise.js';
import { full, zerosLike } from '../ops/shape.js';
import { VJP, type VjpContext, VjpError } from './vjp.js';

export interface GradOptions {
  /** Gradient of the loss itself (default: ones of the loss's shape). */
  seed?: Value;
  /** Filled with the op of every node whose gradient rule ran (for the rule coverage check). */
  rulesUsed?: Set<string>;
}

/**
 * d loss / d w for each w in `wrt`, as new values of `g` (same order). A `wrt` value the loss does
 * not depend on gets zeros.
 */
export function grad(g: Graph, loss: Value, wrt: Value[], options: GradOptions = {}): Value[] {
  if (loss.graph !== g) throw new GraphError(`grad: loss ${loss.name} belongs to another graph`);
  if (!isFloat(loss.dtype)) throw new GraphError(`grad: loss ${loss.name} must be float, got ${loss.dtype}`);
  for (const w of wrt) {
    if (w.graph !== g) throw new GraphError(`grad: ${w.name} belongs to another graph`);
    if (!isFloat(w.dtype))
      throw new GraphError(`grad: cannot differentiate with respect to ${w} (not float)`);
  }
  const nodes = nodesBetween(g, wrt, loss);
  const grads = new Map<Value, Value>();
  grads.set(
    loss,
    options.seed ?? (loss.rank === 0 ? g.scalar(1, loss.dtype) : full(g, [...loss.shape], 1, loss.dtype)),
  );
  const carries = carriersOf(nodes, wrt);

  g.scope('grad', () => {
    for (let n = nodes.length - 1; n >= 0; n--) {
      const node = nodes[n];
      const dys = node.outputs.map((o) => grads.get(o) ?? null);
      if (dys.every((d) => d === null)) continue;
      const build = () => backward(g, node, dys, carries, grads);
      options.rulesUsed?.add(node.op);
      g.scope(node.name, () => (node.keepFloat32 ? g.float32(build) : build()));
    }
  });
  return wrt.map((w) => grads.get(w) ?? zerosLike(w));
}

/** The nodes that lie on a path from `wrt` to `loss`, in graph order. */
function nodesBetween(g: Graph, wrt: Value[], loss: Value): Node[] {
  const fromWrt = new Set<Value>(wrt);
  const forward: Node[] = [];
  for (const node of g.nodes) {
    if (node.stopGradient) continue;
    if (node.inputs.some((v) => v && fromWrt.has(v))) {
      forward.push(node);
      for (const o of node.outputs) if (isFloat(o.dtype)) fromWrt.add(o);
    }
  }
  const toLoss = new Set<Value>([loss]);
  const onPath: Node[] = [];
  for (let i = forward.length - 1; i >= 0; i--) {
    const node = forward[i];
    if (node.outputs.some((o) => toLoss.has(o))) {
      onPath.push(node);
      for (const v of node.inputs) if (v) toLoss.add(v);
    }
  }
  return onPath.reverse();
}

/** Values that depend on some `wrt` value: only their gradients are wanted. */
function carriersOf(nodes: Node[], wrt: Value[]): Set<Value> {
  const set = new Set<Value>(wrt);
  for (const node of nodes) for (const o of node.outputs) set.add(o);
  return set;
}

function backward(
  g: Graph,
  node: Node,
  dys: (Value | null)[],
  carries: Set<Value>,
  grads: Map<Value, Value>,
): void {
  const entry = VJP[node.op];
  if (!entry) {
    throw new VjpError(
      `no gradient rule for ${node.op} (node ${node.name}); ops with rules: ${Object.keys(VJP).sort().join(', ')}`,
    );
  }
  const memo = new Map<string, unknown>();
  const ctx: VjpContext = {
    g,
    node,
    x: node.inputs,
    y: node.outputs,
    dys,
    get dy() {
      return dys[0] ?? zerosLike(node.outputs[0]);
    },
    int: (name, fallback) => {
      const a = node.attrs[name];
      return a?.kind === 'int' ? a.value : fallback;
    },
    ints: (name) => {
      const a = node.attrs[name];
      if (a?.kind !== 'ints') throw new VjpError(`${node.op}(${node.name}) has no ints attribute '${name}'`);
      return a.value;
    },
    constInts: (i) => {
      const v = node.inputs[i];
      if (!v?.data)
        throw new VjpError(`${node.op}(${node.name}): input ${i} must be a constant for its gradient rule`);
      return Array.from(toNumbers(v.data));
    },
    memo: <T>(key: string, make: () => T): T => {
      if (!memo.has(key)) memo.set(key, make());
      return memo.get(key) as T;
    },
  };
  node.inputs.forEach((input, i) => {
    if (!input || !carries.has(input) || !isFloat(input.dtype)) return;
    const rule = typeof entry === 'function' ? (c: VjpContext) => entry(c, i) : entry[i];
    if (!rule) return;
    const contribution = rule(ctx);
    checkShape(node, i, input, contribution);
    const previous = grads.get(input);
    grads.set(input, previous ? add(previous, contribution) : contribution);
  });
}

function checkShape(node: Node, i: number, input: Value, d: Value): void {
  const sameRank = d.rank === input.rank;
  const sameDims =
    sameRank &&
    d.shape.every((dim, k) => typeof dim !== typeof input.shape[k] || dimsEqual(dim, input.shape[k]));
  if (!sameDims || d.dtype !== input.dtype) {
    throw new VjpError(
      `${node.op}(${node.name}): gradient rule for input ${i} gave ${d.dtype}${formatShape(d.shape)}, ` +
        `input is ${input.dtype}${formatShape(input.shape)}`,
    );
  }
}
