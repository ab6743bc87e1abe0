// The LLaVA projector training step on the `bench-small` shape (bench-small.ts) on cpu, printing
// from ONE run: the step time (median after warm-up), its FLOP count and efficiency against the
// GEMM ceiling onnxruntime reaches on this machine in the same run (gemm.ts), the ratio to the
// same step in PyTorch (torch_step.py on the same checkpoint and batch, also a cross-check of the
// loss and gradient norms), and peak memory (RSS) of both.
// Run: npx tsx bench/engine/llava-step.ts [--runs 5] [--head labelled|all] [--no-torch]
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCheckpointFolder } from '../../packages/models/src/checkpoint.js';
import { languageModelFromCheckpoint } from '../../packages/models/src/language-model.js';
import { buildLlavaStepGraph, llavaStepFeeds } from '../../packages/models/src/llava-step.js';
import {
  createSession,
  type HostTensor,
  toNumbers,
  writeSafetensors,
} from '../../packages/tensor/src/index.js';
import { benchSmallBatch, benchSmallInputs, ensureBenchSmallCheckpoint } from './bench-small.js';
import { measureGemmCeiling } from './gemm.js';
import { stepFlops } from './step-flops.js';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const runs = Number(arg('runs', '5'));
const head = arg('head', 'labelled') as 'labelled' | 'all';
const withTorch = !process.argv.includes('--no-torch');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  console.log(
    `bench-small LLaVA projector step, cpu, head=${head}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const gemm = await measureGemmCeiling({ ep: 'cpu', minSeconds: 2 });
  for (const s of gemm.shapes) console.log(`  GEMM ${s.name}: ${s.gflops.toFixed(1)} GFLOP/s`);

  const dir = ensureBenchSmallCheckpoint();
  const lm = languageModelFromCheckpoint(openCheckpointFolder(dir));
  const { batch, projector, params } = benchSmallInputs();
  let t0 = performance.now();
  const step = buildLlavaStepGraph(lm, { projector, imageTokenId: benchSmallBatch.imageTokenId, head });
  const buildSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const session = await createSession(step.graph, { ep: 'cpu' });
  const sessionSeconds = (performance.now() - t0) / 1000;
  const feeds = llavaStepFeeds(step, batch, params);
  let out: Record<string, HostTensor> = {};
  const times: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    t0 = performance.now();
    out = await session.run(feeds);
    if (i > 0) times.push((performance.now() - t0) / 1000); // run 0 is the warm-up
  }
  const rssMb = process.resourceUsage().maxRSS / 1024;
  const [B, T] = batch.inputIds.dims;
  const headRows = head === 'all' ? B * T : feeds.loss_rows.dims[0];
  const flops = stepFlops(
    lm.config,
    B,
    T,
    headRows,
    B * benchSmallBatch.imageTokens,
    benchSmallBatch.featureDim,
  );
  const fullHeadFlops = stepFlops(
    lm.config,
    B,
    T,
    B * T,
    B * benchSmallBatch.imageTokens,
    benchSmallBatch.featureDim,
  );
  const seconds = median(times);
  const rate = flops / seconds / 1e9;
  console.log(
    `  graph: ${step.graph.nodes.length} nodes, built in ${buildSeconds.toFixed(1)} s, session in ${sessionSeconds.toFixed(1)} s`,
  );
  console.log(`  step: median ${seconds.toFixed(2)} s of ${times.map((t) => t.toFixed(2)).join(', ')}`);
  console.log(
    `  work: ${(flops / 1e9).toFixed(0)} GFLOP executed (${(fullHeadFlops / 1e9).toFixed(0)} with the head on every row); ` +
      `${rate.toFixed(1)} GFLOP/s = ${((100 * rate) / gemm.ceilingGflops).toFixed(0)}% of the ${gemm.ceilingGflops.toFixed(0)} GFLOP/s GEMM ceiling` +
      ` (full-head-equivalent: ${((100 * fullHeadFlops) / seconds / 1e9 / gemm.ceilingGflops).toFixed(0)}%)`,
  );
  console.log(`  peak RSS (node): ${rssMb.toFixed(0)} MB`);
  const loss = toNumbers(out.loss)[0];
  if (!withTorch) return;

  // PyTorch on the same checkpoint and batch.
  const batchDir = join(dir, '..', 'batches');
  mkdirSync(batchDir, { recursive: true });
  const batchFile = join(batchDir, 'bench-small-batch.safetensors');
  const tensors: Record<string, HostTensor> = {
    features: batch.features,
    input_ids: batch.inputIds,
    attention_mask: batch.attentionMask,
    labels: batch.labels,
  };
  for (const [name, values] of Object.entries(params)) {
    tensors[name] = {
      dtype: 'float32',
      dims: step.graph.params.find((p) => p.name === name)!.shape as number[],
      data: values,
    };
  }
  writeSafetensors(batchFile, tensors, {
    json: JSON.stringify({ image_token_id: benchSmallBatch.imageTokenId }),
  });
  const torch = spawnSync(
    '/usr/bin/python3',
    [join(here, 'torch_step.py'), dir, batchFile, '1', String(Math.min(runs, 3))],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    },
  );
  if (torch.status !== 0) {
    console.log(`  PyTorch baseline failed: ${torch.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return;
  }
  const result = JSON.parse(torch.stdout.trim().split('\n').pop()!) as {
    torch: string;
    threads: number;
    step_s: number[];
    loss: number;
    grad_norms: Record<string, number>;
    max_rss_mb: number;
  };
  const torchSeconds = median(result.step_s);
  console.log(
    `  PyTorch ${result.torch} (${result.threads} threads): median ${torchSeconds.toFixed(2)} s of ${result.step_s.map((t) => t.toFixed(2)).join(', ')}; peak RSS ${result.max_rss_mb.toFixed(0)} MB`,
  );
  console.log(`  speed-up over PyTorch: ${(torchSeconds / seconds).toFixed(2)}x`);
  const gradErrors = Object.entries(result.grad_norms).map(([name, norm]) => {
    const mine = Math.sqrt(toNumbers(out[`grad.projector.${name}`]).reduce((sum, v) => sum + v * v, 0));
    return `${name} ${(Math.abs(mine - norm) / norm).toExponential(1)}`;
  });
  console.log(
    `  cross-check vs PyTorch: loss rel ${(Math.abs(loss - result.loss) / result.loss).toExponential(1)}; grad-norm rel: ${gradErrors.join(', ')}`,
  );
}

await main();
