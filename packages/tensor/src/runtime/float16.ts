// The float16 pass: copies a float32 graph into one that computes in float16, the fast path on
// GPUs (5-6x over fp32 on WebGPU, see DESIGN). Float32 initializers are converted; nodes built
// inside `g.float32(...)` and ops listed in `keepFloat32Ops` stay float32, with Casts inserted only
// where a value crosses between the two precisions. Graph inputs, parameters and outputs keep
// their float32 types by default (a Cast after each input, before each output), so callers feed
// and read float32 either way.

import { castTensor, type DType } from '../dtype.js';
import { type Attr, attr, Graph, type Node, type Value } from '../graph/graph.js';
import { onnxTypeCode } from '../onnx/types.js';

export interface Float16Options {
  /** Op types that always run in float32 (default: LogSoftmax, whose log-sum-exp loses fp16 digits). */
  keepFloat32Ops?: string[];
  /** Keep float32 graph inputs, parameters and outputs (default true). */
  float32Interface?: boolean;
}

const DEFAULT_KEEP = ['LogSoftmax'];

export function toFloat16(source: Graph, options: Float16Options = {}): Graph {
  const keepOps = new Set(options.keepFloat32Ops ?? DEFAULT_KEEP);
  const float32Interface = options.float32Interface ?? true;
  const g = new Graph(source.name);
  for (const [domain, version] of source.opsets) g.opsets.set(domain, version);
  // Each float32 source value has one home precision in the new graph, and at most one Cast copy.
  const home = new Map<Value, Value>();
  const casts = new Map<Value, Value>();

  const castTo = (v: Value, dtype: DType, name: string): Value =>
    g.addNode(
      'Cast',
      [v],
      { to: attr.int(onnxTypeCode(dtype)) },
      [{ dtype, shape: [...v.shape] }],
      '',
      name,
    )[0];

  const lookup = (old: Value, want: 'float16' | 'float32'): Value => {
    const v = home.get(old);
    if (!v) throw new Error(`float16 pass: ${old.name} used before it is defined`);
    if (old.dtype !== 'float32' || v.dtype === want) return v;
    let copy = casts.get(old);
    if (!copy) {
      copy = castTo(v, want, `${old.name}/as_${want}`);
      casts.set(old, copy);
    }
    return copy;
  };

  for (const input of [...source.inputs, ...source.params]) {
    const isParam = source.params.includes(input);
    const lowered = input.dtype === 'float32' && !float32Interface ? 'float16' : input.dtype;
    const v = isParam ? g.param(input.name, lowered, input.shape) : g.input(input.name, lowered, input.shape);
    home.set(input, v);
  }
  for (const init of source.initializers) {
    const data = init.data!;
    const v = g.initializer(init.name, data.dtype === 'float32' ? castTensor(data, 'float16') : data);
    home.set(init, v);
  }
  for (const node of source.nodes) {
    const keep = node.keepFloat32 === true || keepOps.has(node.op);
    const want = keep ? 'float32' : 'float16';
    const inputs = node.inputs.map((v) => (v ? lookup(v, want) : null));
    const attrs = keep ? node.attrs : lowerAttrs(node);
    const outputs = node.outputs.map((o) => ({
      dtype: o.dtype === 'float32' && !keep ? ('float16' as const) : o.dtype,
      shape: [...o.shape],
    }));
    const made = g.addNode(node.op, inputs, attrs, outputs, node.domain, node.name);
    made.forEach((v, i) => {
      v.name = node.outputs[i].name;
      home.set(node.outputs[i], v);
    });
    if (node.stopGradient) made[0].producer!.stopGradient = true;
  }
  for (const out of source.outputs) {
    const v = home.get(out)!;
    const want = out.dtype === 'float32' && !float32Interface ? 'float16' : out.dtype;
    if (v.dtype !== want && v.name === out.name) v.name = `${out.name}/${v.dtype}`;
    g.output(out.name, lookup(out, want === 'float16' ? 'float16' : 'float32'));
  }
  return g;
}

/** Float32 constants inside attributes (Cast targets, ConstantOfShape fills) become float16. */
function lowerAttrs(node: Node): Record<string, Attr> {
  const out: Record<string, Attr> = {};
  for (const [name, a] of Object.entries(node.attrs)) {
    if (node.op === 'Cast' && name === 'to' && a.kind === 'int' && a.value === onnxTypeCode('float32')) {
      out[name] = attr.int(onnxTypeCode('float16'));
    } else if (a.kind === 'tensor' && a.value.dtype === 'float32') {
      out[name] = attr.tensor(castTensor(a.value, 'float16'));
    } else {
      out[name] = a;
    }
  }
  return out;
}
