// The graph under construction: values with dtype and (possibly symbolic) shape, the nodes that
// produce them, graph inputs, trainable parameters (inputs fed at run time, listed apart so
// `grad` and optimizers can find them), frozen initializers, and outputs. Op functions (ops/*.ts)
// check shapes and dtypes, then call `addNode`; this file knows nothing about particular ops.
// Node names follow scopes: `g.scope('layers.0.self_attn', () => ...)` gives 'layers.0.self_attn/MatMul_2'.

import { type DType, type HostTensor, hostTensor, isFloat } from '../dtype.js';
import { type Dim, formatShape, normalizeDim, splitProduct } from './dims.js';

export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'tensor'; value: HostTensor };

export const attr = {
  int: (value: number): Attr => ({ kind: 'int', value }),
  float: (value: number): Attr => ({ kind: 'float', value }),
  string: (value: string): Attr => ({ kind: 'string', value }),
  ints: (value: number[]): Attr => ({ kind: 'ints', value }),
  floats: (value: number[]): Attr => ({ kind: 'floats', value }),
  tensor: (value: HostTensor): Attr => ({ kind: 'tensor', value }),
};

export type ValueKind = 'input' | 'param' | 'initializer' | 'node';

export interface Node {
  readonly op: string;
  /** '' for the default ONNX domain, e.g. 'com.microsoft' for contrib ops. */
  readonly domain: string;
  readonly name: string;
  /** null marks an omitted optional input (encoded as the empty name ''). */
  readonly inputs: (Value | null)[];
  readonly outputs: Value[];
  readonly attrs: Record<string, Attr>;
  /** Set by `stopGradient`: autodiff treats the node's outputs as constants. */
  stopGradient?: boolean;
  /** Built inside `g.float32(...)`: the float16 pass leaves the node in float32. */
  keepFloat32?: boolean;
}

export class Value {
  /** Set for node outputs; null for inputs, parameters and initializers. */
  producer: Node | null = null;
  /** The frozen contents of an initializer. */
  data: HostTensor | null = null;

  constructor(
    readonly graph: Graph,
    public name: string,
    readonly dtype: DType,
    readonly shape: Dim[],
    readonly kind: ValueKind,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name}: ${this.dtype}${formatShape(this.shape)}`;
  }
}

export class GraphError extends Error {
  override name = 'GraphError';
}

export interface OutputSpec {
  dtype: DType;
  shape: Dim[];
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly params: Value[] = [];
  readonly initializers: Value[] = [];
  readonly outputs: Value[] = [];
  /** Extra opset versions by domain ('' is the default ONNX domain). */
  readonly opsets = new Map<string, number>([['', 21]]);

  private readonly scopes: string[] = [];
  private float32Depth = 0;
  private readonly counters = new Map<string, number>();
  private readonly usedNames = new Set<string>();
  /** Where each symbolic dim can be read at run time: the first value seen carrying it. */
  private readonly dimSources = new Map<string, { value: Value; axis: number }>();
  private readonly dimValues = new Map<string, Value>();
  private readonly scalarConstants = new Map<string, Value>();

  constructor(readonly name = 'mmit') {}

  // ---- naming -------------------------------------------------------------------------------------

  /** Runs `build` with `name` appended to the scope path of every node it creates. */
  scope<T>(name: string, build: () => T): T {
    this.scopes.push(name);
    try {
      return build();
    } finally {
      this.scopes.pop();
    }
  }

  /**
   * Runs `build` with its nodes marked to stay float32 when the graph is converted to float16
   * (RMSNorm's mean of squares overflows in fp16, as Hugging Face's upcasts acknowledge).
   */
  float32<T>(build: () => T): T {
    this.float32Depth++;
    try {
      return build();
    } finally {
      this.float32Depth--;
    }
  }

  get inFloat32Region(): boolean {
    return this.float32Depth > 0;
  }

  get scopePath(): string {
    return this.scopes.join('/');
  }

  /** The name the next `op` node would get, for error messages raised before it exists. */
  peekNodeName(op: string): string {
    const key = `${this.scopePath}/${op}`;
    const n = this.counters.get(key) ?? 0;
    return this.scopes.length ? `${this.scopePath}/${op}_${n}` : `${op}_${n}`;
  }

  private takeNodeName(op: string): string {
    const key = `${this.scopePath}/${op}`;
    let name = this.peekNodeName(op);
    this.counters.set(key, (this.counters.get(key) ?? 0) + 1);
    while (this.usedNames.has(name)) name = `${name}_`;
    this.usedNames.add(name);
    return name;
  }

  private claimName(name: string, what: string): void {
    if (this.usedNames.has(name))
      throw new GraphError(`${what} name '${name}' is already used in graph ${this.name}`);
    this.usedNames.add(name);
  }

  // ---- graph inputs, parameters, initializers, outputs ---------------------------------------------

  /** A runtime input, e.g. `g.input('input_ids', 'int32', ['batch', 'seq'])`. */
  input(name: string, dtype: DType, shape: Dim[]): Value {
    this.claimName(name, 'input');
    const value = this.track(new Value(this, name, dtype, shape.map(normalizeDim), 'input'));
    this.inputs.push(value);
    return value;
  }

  /** A trainable parameter: a graph input fed at each run, which `grad` can differentiate against. */
  param(name: string, dtype: DType, shape: Dim[]): Value {
    if (!isFloat(dtype)) throw new GraphError(`parameter '${name}' must be a float type, got ${dtype}`);
    this.claimName(name, 'parameter');
    const value = this.track(new Value(this, name, dtype, shape.map(normalizeDim), 'param'));
    this.params.push(value);
    return value;
  }

  /** A frozen tensor stored in the model (weights of the frozen LM, tables, masks). */
  initializer(name: string, tensor: HostTensor): Value {
    this.claimName(name, 'initializer');
    const value = new Value(this, name, tensor.dtype, [...tensor.dims], 'initializer');
    value.data = tensor;
    this.initializers.push(value);
    return value;
  }

  /**
   * An anonymous constant. Scalars are shared (one initializer per dtype and value).
   * Example: `g.constant(hostTensor('int64', [2], [0, -1]))` or `g.scalar(0.5, 'float32')`.
   */
  constant(tensor: HostTensor): Value {
    const name = this.takeNodeName('const');
    const value = new Value(this, name, tensor.dtype, [...tensor.dims], 'initializer');
    value.data = tensor;
    this.initializers.push(value);
    return value;
  }

  scalar(value: number, dtype: DType): Value {
    const key = `${dtype}:${Object.is(value, -0) ? '-0' : value}`;
    let v = this.scalarConstants.get(key);
    if (!v) {
      v = this.constant(hostTensor(dtype, [], [value]));
      this.scalarConstants.set(key, v);
    }
    return v;
  }

  /** A 1-D int64 constant, the form Reshape/Slice/ReduceSum take their shape and axes in. */
  int64s(values: number[]): Value {
    return this.constant(hostTensor('int64', [values.length], values));
  }

  /** Marks `value` as a graph output called `name` (inserting an Identity when it must keep its own name). */
  output(name: string, value: Value): Value {
    if (value.graph !== this) throw new GraphError(`output '${name}' comes from another graph`);
    if (this.outputs.some((o) => o.name === name)) throw new GraphError(`output '${name}' is declared twice`);
    let out = value;
    if (out.name !== name) {
      // Inputs, initializers and values already output keep their names; a copy takes the new one.
      if (value.kind !== 'node' || this.outputs.includes(value)) {
        [out] = this.addNode('Identity', [value], {}, [{ dtype: value.dtype, shape: [...value.shape] }]);
      }
      this.claimName(name, 'output');
      out.name = name;
    }
    this.outputs.push(out);
    return out;
  }

  // ---- nodes --------------------------------------------------------------------------------------

  /** Appends a node whose outputs the caller has already inferred and checked. */
  addNode(
    op: string,
    inputs: (Value | null)[],
    attrs: Record<string, Attr>,
    outputs: OutputSpec[],
    domain = '',
    explicitName?: string,
  ): Value[] {
    for (const input of inputs) {
      if (input && input.graph !== this)
        throw new GraphError(`${op}: input ${input.name} belongs to another graph`);
    }
    if (domain && !this.opsets.has(domain)) this.opsets.set(domain, 1);
    const name = explicitName ?? this.takeNodeName(op);
    if (explicitName) this.usedNames.add(explicitName);
    const values = outputs.map((spec, i) => {
      const valueName = outputs.length === 1 ? name : `${name}:${i}`;
      if (i > 0 || outputs.length > 1) this.usedNames.add(valueName);
      return this.track(new Value(this, valueName, spec.dtype, spec.shape.map(normalizeDim), 'node'));
    });
    const node: Node = { op, domain, name, inputs, outputs: values, attrs };
    if (this.float32Depth > 0) node.keepFloat32 = true;
    for (const v of values) v.producer = node;
    this.nodes.push(node);
    return values;
  }

  // ---- symbolic dims at run time ------------------------------------------------------------------

  /** A 1-D int64 tensor [1] holding `dim` at run time (read from the shape of a value that has it). */
  dimValue(dim: Dim): Value {
    if (typeof dim === 'number') return this.int64s([dim]);
    const key = normalizeDim(dim);
    if (typeof key === 'number') return this.int64s([key]);
    const cached = this.dimValues.get(key);
    if (cached) return cached;
    const source = this.dimSources.get(key);
    const parts = splitProduct(key);
    if (!source && parts.length > 1 && parts.every((p) => this.knowsDim(p))) {
      // 'batch*seq' with no value carrying it: multiply the factors at run time.
      const value = parts
        .map((p) => this.dimValue(p))
        .reduce((acc, v) => this.addNode('Mul', [acc, v], {}, [{ dtype: 'int64', shape: [1] }])[0]);
      this.dimValues.set(key, value);
      return value;
    }
    if (!source) {
      throw new GraphError(
        `no value in graph ${this.name} carries dim '${key}'; known: ${[...this.dimSources.keys()].join(', ') || 'none'}`,
      );
    }
    const [value] = this.addNode(
      'Shape',
      [source.value],
      { start: attr.int(source.axis), end: attr.int(source.axis + 1) },
      [{ dtype: 'int64', shape: [1] }],
    );
    this.dimValues.set(key, value);
    return value;
  }

  /** Whether `dim` can be produced at run time by `dimValue`. */
  knowsDim(dim: Dim): boolean {
    if (typeof dim === 'number') return true;
    const key = normalizeDim(dim);
    if (typeof key === 'number' || this.dimSources.has(key)) return true;
    const parts = splitProduct(key);
    return parts.length > 1 && parts.every((p) => this.knowsDim(p));
  }

  private track(value: Value): Value {
    value.shape.forEach((d, axis) => {
      if (typeof d === 'string' && !this.dimSources.has(d)) this.dimSources.set(d, { value, axis });
    });
    return value;
  }
}
