// Finite-difference gradient checking: compares `grad`'s backward graph, run by onnxruntime, with
// central differences of the forward graph. The output is projected to a scalar with fixed random
// weights, so every output element contributes with its own weight. Use float64 where onnxruntime's
// CPU kernels have it (not Erf/Gelu: float32 with a larger eps and a looser tolerance there).

import { mulberry32 } from '@mmit/random';
import { type DType, type HostTensor, hostTensor, isFloat, toNumbers } from '../dtype.js';
import { type Dim, isStatic } from '../graph/dims.js';
import { Graph, type Value } from '../graph/graph.js';
import { mul } from '../ops/elementwise.js';
import { reduceSum } from '../ops/reduce.js';
import { createSession } from '../runtime/session.js';
import { grad } from './grad.js';

export interface GradCheckOptions {
  /** Inputs to differentiate (default: every float input). */
  wrt?: string[];
  /** Finite-difference step (default 1e-6 for float64, 1e-2 for float32). */
  eps?: number;
  /** Seed of the projection weights. */
  seed?: number;
  /** Declare some inputs with symbolic dims (e.g. { x: ['n', 3] }) to check the symbolic paths. */
  dims?: Record<string, Dim[]>;
}

export interface GradCheckResult {
  name: string;
  /** ||analytic - numeric|| / ||numeric|| */
  relError: number;
  maxAbsError: number;
  analytic: Float64Array;
  numeric: Float64Array;
  /** The ops whose gradient rules the check ran through. */
  rules: string[];
}

/** The output's dims at run time, from a forward-only copy of the graph. */
async function runtimeDims(
  declare: () => { g: Graph; y: Value },
  feeds: Record<string, HostTensor>,
): Promise<number[]> {
  const { g, y } = declare();
  g.output('y', y);
  const session = await createSession(g, { cache: false, threads: 1 });
  const out = await session.run(feeds);
  await session.release();
  return out.y.dims;
}

/** A small deterministic generator so checks are reproducible (mmit's one, @mmit/random). */
export const randomGenerator = mulberry32;

/** Uniform values in [lo, hi) as a tensor of `dtype`. */
export function randomTensor(dtype: DType, dims: number[], seed: number, lo = -1, hi = 1): HostTensor {
  const next = randomGenerator(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return hostTensor(
    dtype,
    dims,
    Array.from({ length: n }, () => lo + (hi - lo) * next()),
  );
}

export async function gradCheck(
  build: (g: Graph, inputs: Record<string, Value>) => Value,
  feeds: Record<string, HostTensor>,
  options: GradCheckOptions = {},
): Promise<GradCheckResult[]> {
  const wrtNames = options.wrt ?? Object.keys(feeds).filter((k) => isFloat(feeds[k].dtype));
  const declare = () => {
    const g = new Graph('gradcheck');
    const values: Record<string, Value> = {};
    for (const [name, t] of Object.entries(feeds)) {
      const dims = options.dims?.[name] ?? t.dims;
      values[name] = wrtNames.includes(name) ? g.param(name, t.dtype, dims) : g.input(name, t.dtype, dims);
    }
    return { g, values, y: build(g, values) };
  };
  const { g, values, y } = declare();
  const outDims = isStatic(y.shape) ? [...y.shape] : await runtimeDims(declare, feeds);
  const weights = g.constant(randomTensor(y.dtype, outDims, options.seed ?? 7));
  const loss = reduceSum(mul(y, weights), undefined, false);
  g.output('loss', loss);
  const rulesUsed = new Set<string>();
  const grads = grad(
    g,
    loss,
    wrtNames.map((n) => values[n]),
    { rulesUsed },
  );
  wrtNames.forEach((n, i) => {
    g.output(`grad.${n}`, grads[i]);
  });
  const session = await createSession(g, { cache: false, threads: 1 });
  const analyticRun = await session.run(feeds);

  const results: GradCheckResult[] = [];
  for (const name of wrtNames) {
    const base = feeds[name];
    const eps = options.eps ?? (base.dtype === 'float64' ? 1e-6 : 1e-2);
    const numeric = new Float64Array(base.data.length);
    const data = base.data as Float64Array | Float32Array;
    for (let i = 0; i < data.length; i++) {
      const keep = data[i];
      const lossAt = async (v: number) => {
        const perturbed = data.slice();
        perturbed[i] = v;
        const out = await session.run({ ...feeds, [name]: { ...base, data: perturbed } }, ['loss']);
        return toNumbers(out.loss)[0];
      };
      numeric[i] = ((await lossAt(keep + eps)) - (await lossAt(keep - eps))) / (2 * eps);
    }
    const analytic = toNumbers(analyticRun[`grad.${name}`]);
    let diff = 0;
    let norm = 0;
    let maxAbsError = 0;
    for (let i = 0; i < numeric.length; i++) {
      const d = analytic[i] - numeric[i];
      diff += d * d;
      norm += numeric[i] * numeric[i];
      maxAbsError = Math.max(maxAbsError, Math.abs(d));
    }
    const relError = Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-12);
    results.push({ name, relError, maxAbsError, analytic, numeric, rules: [...rulesUsed] });
  }
  await session.release();
  return results;
}
