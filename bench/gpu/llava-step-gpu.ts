// The LLaVA projector training step on a GPU execution provider (webgpu by default) at the LLaVA-1.5
// stage-1 shape: 576 CLIP-L/14-336 feature rows of width 1024 + 64 caption tokens per sample, batch
// 16, a SmolLM2-135M-shaped frozen Llama (the bench-small checkpoint), mlp2x_gelu projector. Prints
// samples/s for each compute dtype asked for (fp32; fp16 through the session's float16 pass) and,
// in the same run on the same card, PyTorch's samples/s for the same step (torch_step.py on cuda,
// same checkpoint and batch), with ours/PyTorch ratios and a loss cross-check against it.
// The loss uses the composed log-softmax (WebGPU has no LogSoftmax kernel) and a static loss scale
// (fp16 gradients underflow without one); both are llava-step.ts options.
// `--verbose-placement` opens the timed sessions at verbose log level, with a marker line on stderr
// before each session and around its runs: bench/gpu/placement.ts reads that log to count nodes on
// the GPU vs on the CPU (and the log lines written while the step runs, which would cost time).
// Run: npx tsx bench/gpu/llava-step-gpu.ts [--ep webgpu] [--dtypes fp32,fp16] [--runs 3]
//      [--batch 16 --image-tokens 576 --text-tokens 64] [--python python3] [--torch-device cuda]
//      [--torch-precisions fp32,tf32,bf16,bf16+sdpa] [--loss-scale 16384] [--no-torch] [--verbose-placement]
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCheckpointFolder } from '../../packages/models/src/checkpoint.js';
import { languageModelFromCheckpoint } from '../../packages/models/src/language-model.js';
import {
  buildLlavaStepGraph,
  type LlavaStepGraph,
  llavaStepFeeds,
} from '../../packages/models/src/llava-step.js';
import {
  createSession,
  EXECUTION_PROVIDERS,
  type ExecutionProvider,
  type HostTensor,
  toNumbers,
  writeSafetensors,
} from '../../packages/tensor/src/index.js';
import { benchSmallInputs, ensureBenchSmallCheckpoint, llavaStage1Batch } from '../engine/bench-small.js';
import { stepFlops } from '../engine/step-flops.js';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const ep = arg('ep', 'webgpu') as ExecutionProvider;
if (!EXECUTION_PROVIDERS.includes(ep))
  throw new Error(`--ep ${ep}: valid are ${EXECUTION_PROVIDERS.join(', ')}`);
const dtypes = arg('dtypes', 'fp32,fp16').split(',');
for (const d of dtypes)
  if (d !== 'fp32' && d !== 'fp16') throw new Error(`--dtypes ${d}: valid are fp32, fp16`);
const runs = Number(arg('runs', '3'));
// 2^14: lifts the logits' gradients (~1 / (M V) = 2e-8 here) out of float16's underflow range while
// the projector's summed gradients stay far below its 65504 ceiling. Exact in float32.
const lossScale = Number(arg('loss-scale', String(2 ** 14)));
const shape = {
  ...llavaStage1Batch,
  batch: Number(arg('batch', String(llavaStage1Batch.batch))),
  imageTokens: Number(arg('image-tokens', String(llavaStage1Batch.imageTokens))),
  textTokens: Number(arg('text-tokens', String(llavaStage1Batch.textTokens))),
};
const python = arg('python', 'python3');
const torchDevice = arg('torch-device', 'cuda');
const torchPrecisions = arg('torch-precisions', 'fp32,tf32,bf16,bf16+sdpa');
const torchScript = arg('torch-script', fileURLToPath(new URL('../engine/torch_step.py', import.meta.url)));
const withTorch = !process.argv.includes('--no-torch');
const verbosePlacement = process.argv.includes('--verbose-placement');
const mark = (label: string) => {
  if (verbosePlacement) console.error(`=== ${label}`);
};

/** Ops the float16 pass leaves in float32 (LogSoftmax is its default; the scatters are the gathers' gradients). */
const FLOAT32_OPS = ['LogSoftmax', 'ScatterND', 'ScatterElements'];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const norm = (t: HostTensor) => Math.sqrt(toNumbers(t).reduce((sum, v) => sum + v * v, 0));

interface OursResult {
  dtype: string;
  samplesPerSec: number;
  stepSeconds: number[];
  loss: number;
  gradNorms: Record<string, number>;
}

/** Opens a session for one compute dtype, runs a warm-up and `runs` timed steps, and releases it. */
async function measureOurs(
  step: LlavaStepGraph,
  feeds: Record<string, HostTensor>,
  dtype: string,
  flops: number,
): Promise<OursResult> {
  let t0 = performance.now();
  mark(`placement: llava-step ${ep} ${dtype}`);
  const session = await createSession(step.graph, {
    ep,
    // Scatters add into their output: no float16 atomics in WGSL, and no fp16 add-reduction on cpu.
    float16: dtype === 'fp16' ? { keepFloat32Ops: FLOAT32_OPS } : false,
    cache: false,
    logSeverity: verbosePlacement ? 0 : 3,
  });
  const sessionSeconds = (performance.now() - t0) / 1000;
  if (session.fallbackReason) console.log(`  ${dtype}: session fell back: ${session.fallbackReason}`);
  mark(`runs: llava-step ${ep} ${dtype}`);
  let out: Record<string, HostTensor> = {};
  const times: number[] = [];
  let first = 0;
  try {
    for (let i = 0; i < runs + 1; i++) {
      t0 = performance.now();
      out = await session.run(feeds);
      const seconds = (performance.now() - t0) / 1000;
      if (i === 0) first = seconds;
      else times.push(seconds);
    }
  } finally {
    mark(`end: llava-step ${ep} ${dtype}`);
    await session.release();
  }
  const seconds = median(times);
  const result: OursResult = {
    dtype,
    samplesPerSec: shape.batch / seconds,
    stepSeconds: times,
    loss: toNumbers(out.loss)[0],
    gradNorms: Object.fromEntries(
      step.params.map((p) => [p.replace(/^projector\./, ''), norm(out[`grad.${p}`])]),
    ),
  };
  console.log(
    `  ours ${session.ep} ${dtype}: session ${sessionSeconds.toFixed(1)} s, first run ${first.toFixed(2)} s, step median ${seconds.toFixed(3)} s ` +
      `of ${times.map((t) => t.toFixed(3)).join(', ')} = ${result.samplesPerSec.toFixed(2)} samples/s, ` +
      `${(flops / seconds / 1e12).toFixed(2)} TFLOP/s; loss ${result.loss.toFixed(5)}`,
  );
  return result;
}

async function main() {
  const T = shape.imageTokens + shape.textTokens;
  console.log(
    `LLaVA stage-1 projector step: batch ${shape.batch} x (${shape.imageTokens} image + ${shape.textTokens} text tokens), ep ${ep}, dtypes ${dtypes.join(',')}, loss scale ${lossScale}`,
  );
  const t0 = performance.now();
  const dir = ensureBenchSmallCheckpoint();
  const lm = languageModelFromCheckpoint(openCheckpointFolder(dir));
  const { batch, projector, params } = benchSmallInputs(shape);
  const step = buildLlavaStepGraph(lm, {
    projector,
    imageTokenId: shape.imageTokenId,
    head: 'labelled',
    composedLogSoftmax: true,
    lossScale,
  });
  const feeds = llavaStepFeeds(step, batch, params);
  console.log(
    `  checkpoint + batch + graph (${step.graph.nodes.length} nodes): ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const headRows = feeds.loss_rows.dims[0];
  const flops = stepFlops(
    lm.config,
    shape.batch,
    T,
    headRows,
    shape.batch * shape.imageTokens,
    shape.featureDim,
  );
  console.log(
    `  work: ${(flops / 1e9).toFixed(0)} GFLOP per step (${(flops / 1e9 / shape.batch).toFixed(1)} per sample)`,
  );

  const ours: OursResult[] = [];
  for (const dtype of dtypes) {
    try {
      ours.push(await measureOurs(step, feeds, dtype, flops));
    } catch (error) {
      // A dtype that does not run is a result too: say why and go on to the next one.
      console.log(
        `  ours ${ep} ${dtype} FAILED: ${(error as Error).message.split('\n').slice(0, 3).join(' | ')}`,
      );
    }
  }
  if (!withTorch) {
    console.log(`RESULT ${JSON.stringify({ shape, ep, ours })}`);
    return;
  }

  // PyTorch on the same checkpoint and batch, same card.
  const batchDir = join(dir, '..', 'batches');
  mkdirSync(batchDir, { recursive: true });
  const batchFile = join(
    batchDir,
    `stage1-b${shape.batch}-n${shape.imageTokens}-t${shape.textTokens}.safetensors`,
  );
  const tensors: Record<string, HostTensor> = {
    features: batch.features,
    input_ids: batch.inputIds,
    attention_mask: batch.attentionMask,
    labels: batch.labels,
  };
  for (const p of step.graph.params) {
    tensors[p.name] = { dtype: 'float32', dims: p.shape as number[], data: params[p.name] };
  }
  writeSafetensors(batchFile, tensors, { json: JSON.stringify({ image_token_id: shape.imageTokenId }) });
  const torch = spawnSync(
    python,
    [torchScript, dir, batchFile, '2', String(Math.max(runs, 5)), torchDevice, torchPrecisions],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (torch.status !== 0) {
    console.log(`  PyTorch baseline failed: ${torch.stderr.trim().split('\n').slice(-5).join(' | ')}`);
    console.log(`RESULT ${JSON.stringify({ shape, ep, ours })}`);
    return;
  }
  const theirs = torch.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map(
      (l) =>
        JSON.parse(l) as {
          torch: string;
          device: string;
          precision: string;
          gpu?: string;
          step_s: number[];
          loss: number;
          grad_norms: Record<string, number>;
          max_gpu_mb?: number;
        },
    )
    .map((r) => ({ ...r, samplesPerSec: shape.batch / median(r.step_s) }));
  for (const r of theirs) {
    console.log(
      `  PyTorch ${r.torch} ${r.device}${r.gpu ? ` (${r.gpu})` : ''} ${r.precision}: step median ${median(r.step_s).toFixed(3)} s = ` +
        `${r.samplesPerSec.toFixed(2)} samples/s; loss ${r.loss.toFixed(5)}` +
        (r.max_gpu_mb ? `; peak GPU memory ${(r.max_gpu_mb / 1024).toFixed(1)} GiB` : ''),
    );
  }
  const reference = theirs.find((r) => r.precision === 'fp32') ?? theirs[0];
  for (const o of ours) {
    const ratios = theirs.map((r) => `${(o.samplesPerSec / r.samplesPerSec).toFixed(3)}x vs ${r.precision}`);
    const gradRel = Object.entries(reference.grad_norms).map(
      ([name, n]) => `${name} ${(Math.abs(o.gradNorms[name] - n) / n).toExponential(1)}`,
    );
    console.log(
      `  ours ${ep} ${o.dtype}/PyTorch: ${ratios.join(', ')}; vs PyTorch ${reference.precision}: loss rel ${(Math.abs(o.loss - reference.loss) / reference.loss).toExponential(1)}, grad-norm rel ${gradRel.join(', ')}`,
    );
  }
  console.log(`RESULT ${JSON.stringify({ shape, ep, ours, torch: theirs })}`);
}

await main();
