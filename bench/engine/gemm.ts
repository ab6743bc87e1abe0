// The GEMM ceiling: how fast onnxruntime's own fp32 MatMul (MLAS on cpu) runs on this machine, so
// other benches report their efficiency against it, measured in the same run. Each shape runs as a
// chain of MatMuls inside one graph so per-run overhead (feeds, output copies) stays negligible.
// Run: npx tsx bench/engine/gemm.ts [--ep cpu|webgpu|cuda]; import { measureGemmCeiling } elsewhere.

import { pathToFileURL } from 'node:url';
import {
  createSession,
  type ExecutionProvider,
  Graph,
  matmul,
  randomTensor,
  type Value,
} from '../../packages/tensor/src/index.js';

export interface GemmShapeResult {
  name: string;
  /** One MatMul's [m, k] x [k, n]; the chain alternates it with its transpose-shaped partner. */
  m: number;
  k: number;
  n: number;
  matmuls: number;
  seconds: number;
  gflops: number;
}

export interface GemmCeiling {
  ep: ExecutionProvider;
  shapes: GemmShapeResult[];
  /** The best rate seen: the denominator for efficiency figures. */
  ceilingGflops: number;
}

interface ShapeSpec {
  name: string;
  m: number;
  k: number;
  n: number;
  matmuls: number;
}

export const GEMM_SHAPES: ShapeSpec[] = [
  { name: 'square 2048', m: 2048, k: 2048, n: 2048, matmuls: 4 },
  { name: 'bench-small mlp [384x576]x[576x1536]', m: 384, k: 576, n: 1536, matmuls: 16 },
];

/** x [m, k] -> [m, n] -> [m, k] -> ... through alternating frozen weights. */
function chainGraph(spec: ShapeSpec): Graph {
  const g = new Graph(`gemm-${spec.m}x${spec.k}x${spec.n}`);
  const up = g.initializer('up', randomTensor('float32', [spec.k, spec.n], 1, -0.05, 0.05));
  const down = g.initializer('down', randomTensor('float32', [spec.n, spec.k], 2, -0.05, 0.05));
  let h: Value = g.input('x', 'float32', [spec.m, spec.k]);
  for (let i = 0; i < spec.matmuls; i++) h = matmul(h, i % 2 === 0 ? up : down);
  g.output('y', h);
  return g;
}

async function timeShape(
  spec: ShapeSpec,
  ep: ExecutionProvider,
  minSeconds: number,
): Promise<GemmShapeResult> {
  const session = await createSession(chainGraph(spec), { ep, cache: false });
  const feeds = { x: randomTensor('float32', [spec.m, spec.k], 3) };
  await session.run(feeds); // warm-up: first-run allocations and kernel selection
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || (performance.now() - start) / 1000 < minSeconds) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push((performance.now() - t0) / 1000);
  }
  await session.release();
  times.sort((a, b) => a - b);
  const seconds = times[Math.floor(times.length / 2)];
  const flops = spec.matmuls * 2 * spec.m * spec.k * spec.n;
  return { ...spec, seconds, gflops: flops / seconds / 1e9 };
}

/** Measures every shape in GEMM_SHAPES (median of repeated runs, at least `minSeconds` each). */
export async function measureGemmCeiling(
  options: { ep?: ExecutionProvider; minSeconds?: number; shapes?: ShapeSpec[] } = {},
): Promise<GemmCeiling> {
  const ep = options.ep ?? 'cpu';
  const shapes: GemmShapeResult[] = [];
  for (const spec of options.shapes ?? GEMM_SHAPES)
    shapes.push(await timeShape(spec, ep, options.minSeconds ?? 2));
  return { ep, shapes, ceilingGflops: Math.max(...shapes.map((s) => s.gflops)) };
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--ep');
  const ep = (at > 0 ? process.argv[at + 1] : 'cpu') as ExecutionProvider;
  const result = await measureGemmCeiling({ ep });
  console.log(`onnxruntime fp32 MatMul on ${ep}:`);
  for (const s of result.shapes) {
    const ratio = s.gflops / result.ceilingGflops;
    console.log(
      `  ${s.name.padEnd(40)} ${s.gflops.toFixed(1).padStart(8)} GFLOP/s  (${(s.seconds * 1000).toFixed(1)} ms per ${s.matmuls} MatMuls, ${(ratio * 100).toFixed(0)}% of ceiling)`,
    );
  }
  console.log(`ceiling: ${result.ceilingGflops.toFixed(1)} GFLOP/s`);
}

// Run as a script only under its own name: inside a bundle (bench/gpu/pack.sh) every module shares
// the bundle's import.meta.url, so that comparison alone would also fire for the importing bench.
if (
  process.argv[1] &&
  /gemm\.(ts|js|mjs)$/.test(process.argv[1]) &&
  import.meta.url === pathToFileURL(process.argv[1]).href
)
  await main();
