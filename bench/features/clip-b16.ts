// Images per second on cpu for the CLIP vision tower at 224 px with the ViT-B/16 shape (random
// weights, written as a real Hugging Face checkpoint so the loader and graph builder are the ones
// the feature service uses), LLaVA's features (layer -2, patch tokens: 11 of 12 layers run).
// Reported against two baselines measured in the same run:
//   - onnxruntime's own fp32 GEMM ceiling on this machine (bench/engine/gemm.ts): efficiency =
//     the tower's achieved GFLOP/s over the ceiling (target >= 50%);
//   - PyTorch on cpu with OpenBLAS (torch_vit.py, the same math on the same weights and pixels;
//     target: ours >= 3x faster). Its first outputs are compared with ours as a cross-check.
// Also the end-to-end rate of the service's runner (PNG decode + preprocessing + tower).
// The load average is printed before and after: the numbers are only comparable on a quiet machine.
// On a GPU (bench/gpu/run.sh): --ep webgpu [--dtype fp16] --python python3 --torch-device cuda
// --torch-precisions fp32,tf32,fp16 compares against PyTorch on the same card, one line per precision.
// Run: npx tsx bench/features/clip-b16.ts [--batch 8] [--runs 5] [--ep cpu] [--dtype fp32|fp16]
//      [--python /usr/bin/python3] [--torch-device cpu|cuda] [--torch-precisions fp32] [--no-torch]
//      [--placement-only]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EncoderSpecSchema } from '../../packages/features/src/index.js';
import {
  buildVisionGraph,
  loadImageProcessor,
  openEncoderSession,
  openVisionTower,
  preprocessImage,
} from '../../packages/models/src/index.js';
import {
  createSession,
  type ExecutionProvider,
  type HostTensor,
  writeSafetensors,
} from '../../packages/tensor/src/index.js';
import { VisionRunner } from '../../services/features/src/encoders/vision.js';
import { noisePng } from '../../services/features/src/testing/corpus.js';
import { measureGemmCeiling } from '../engine/gemm.js';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const BATCH = Number(arg('batch', '8'));
const RUNS = Number(arg('runs', '5'));
const EP = arg('ep', 'cpu') as ExecutionProvider;
const DTYPE = arg('dtype', 'fp32');
if (DTYPE !== 'fp32' && DTYPE !== 'fp16') throw new Error(`--dtype ${DTYPE}: valid are fp32, fp16`);
const PYTHON = arg('python', '/usr/bin/python3');
const TORCH_DEVICE = arg('torch-device', 'cpu');
const TORCH_PRECISIONS = arg('torch-precisions', 'fp32');
const WITH_TORCH = !process.argv.includes('--no-torch');
// Opens the tower's session at verbose log level and exits (bench/gpu/placement.ts reads the log).
const PLACEMENT_ONLY = process.argv.includes('--placement-only');
const LAYER = -2;

/** ViT-B/16 at 224 px, as openai/clip-vit-base-patch16's vision_config. */
const CONFIG = {
  architectures: ['CLIPVisionModel'],
  model_type: 'clip_vision_model',
  hidden_size: 768,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  num_channels: 3,
  image_size: 224,
  patch_size: 16,
  hidden_act: 'quick_gelu',
  layer_norm_eps: 1e-5,
};
const PREPROCESSOR = {
  image_processor_type: 'CLIPImageProcessor',
  do_resize: true,
  size: { shortest_edge: 224 },
  do_center_crop: true,
  crop_size: { height: 224, width: 224 },
  do_rescale: true,
  rescale_factor: 1 / 255,
  do_normalize: true,
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_std: [0.26862954, 0.26130258, 0.27577711],
  resample: 3,
};

function random(dims: number[], seed: number, scale: number, offset = 0): HostTensor<'float32'> {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = offset + scale * (s / 2 ** 31 - 1);
  }
  return { dtype: 'float32', dims, data };
}

/** Writes the checkpoint once per temp folder (344 MB) and reuses it on later runs. */
function writeCheckpoint(dir: string): void {
  if (existsSync(join(dir, 'model.safetensors'))) return;
  mkdirSync(dir, { recursive: true });
  const { hidden_size: d, intermediate_size: f, num_hidden_layers: layers, patch_size: p } = CONFIG;
  const tokens = (CONFIG.image_size / p) ** 2 + 1;
  let seed = 1;
  const w: Record<string, HostTensor> = {
    'embeddings.patch_embedding.weight': random([d, 3, p, p], seed++, 0.02),
    'embeddings.class_embedding': random([d], seed++, 0.02),
    'embeddings.position_embedding.weight': random([tokens, d], seed++, 0.02),
    'pre_layrnorm.weight': random([d], seed++, 0.1, 1),
    'pre_layrnorm.bias': random([d], seed++, 0.02),
    'post_layernorm.weight': random([d], seed++, 0.1, 1),
    'post_layernorm.bias': random([d], seed++, 0.02),
  };
  for (let i = 0; i < layers; i++) {
    const pre = `encoder.layers.${i}.`;
    for (const ln of ['layer_norm1', 'layer_norm2']) {
      w[`${pre}${ln}.weight`] = random([d], seed++, 0.1, 1);
      w[`${pre}${ln}.bias`] = random([d], seed++, 0.02);
    }
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      w[`${pre}self_attn.${proj}.weight`] = random([d, d], seed++, 0.03);
      w[`${pre}self_attn.${proj}.bias`] = random([d], seed++, 0.02);
    }
    w[`${pre}mlp.fc1.weight`] = random([f, d], seed++, 0.03);
    w[`${pre}mlp.fc1.bias`] = random([f], seed++, 0.02);
    w[`${pre}mlp.fc2.weight`] = random([d, f], seed++, 0.02);
    w[`${pre}mlp.fc2.bias`] = random([d], seed++, 0.02);
  }
  writeSafetensors(join(dir, 'model.safetensors'), w, { format: 'pt' });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG, null, 2));
  writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify(PREPROCESSOR, null, 2));
}

/** FLOPs of one image through `layers` layers (2 per multiply-add; LayerNorm/softmax/GELU ignored). */
function flopsPerImage(layers: number): number {
  const { hidden_size: d, intermediate_size: f, patch_size: p } = CONFIG;
  const n = (CONFIG.image_size / p) ** 2;
  const t = n + 1;
  const patch = 2 * n * d * 3 * p * p;
  const layer = 2 * t * (4 * d * d + 2 * d * f) + 2 * 2 * t * t * d;
  return patch + layers * layer;
}

async function timeIt(fn: () => Promise<unknown>, runs: number): Promise<number> {
  await fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function main(): Promise<void> {
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  console.log(
    `clip ViT-B/16 @224, batch ${BATCH}, ${RUNS} runs, ep ${EP}, ${DTYPE}, ${cpus().length} cpus; load average ${load()}`,
  );
  const dir = join(tmpdir(), 'mmit-bench', 'clip-vit-b16-random');
  writeCheckpoint(dir);

  const tower = openVisionTower(dir);
  const graph = buildVisionGraph(tower, { features: { layer: LAYER, select: 'patch' } });
  tower.weights.close();
  if (PLACEMENT_ONLY) {
    const verbose = await createSession(graph, {
      ep: EP,
      cache: false,
      float16: DTYPE === 'fp16',
      logSeverity: 0,
    });
    console.log(`tower session on ${verbose.ep} (placement log on stderr)`);
    await verbose.release();
    return;
  }

  const ceiling = await measureGemmCeiling({ ep: EP, minSeconds: 1 });
  console.log(`onnxruntime fp32 GEMM ceiling: ${ceiling.ceilingGflops.toFixed(1)} GFLOP/s`);

  const session = await createSession(graph, { ep: EP, cache: false, float16: DTYPE === 'fp16' });
  if (session.fallbackReason) console.log(`session fell back: ${session.fallbackReason}`);
  const pixels = random([BATCH, 3, 224, 224], 7, 2);
  let features: HostTensor | undefined;
  const seconds = await timeIt(async () => {
    features = (await session.run({ pixel_values: pixels })).image_features;
  }, RUNS);
  await session.release();
  const layers = CONFIG.num_hidden_layers + 1 + LAYER;
  const gflops = (flopsPerImage(layers) * BATCH) / seconds / 1e9;
  const ours = BATCH / seconds;
  console.log(
    `tower forward (${layers} layers, ${(flopsPerImage(layers) / 1e9).toFixed(1)} GFLOP/image): ${ours.toFixed(2)} images/s, ` +
      `${gflops.toFixed(1)} GFLOP/s = ${((gflops / ceiling.ceilingGflops) * 100).toFixed(0)}% of the GEMM ceiling`,
  );

  // End to end through the service's runner: PNG bytes in, stored features out.
  const pngs = await Promise.all(
    Array.from({ length: BATCH }, async (_, i) => {
      const media = await noisePng(300, 256, 100 + i);
      if (media.kind !== 'image') throw new Error('noisePng made no image');
      return media.bytes;
    }),
  );
  const plan = loadImageProcessor(dir);
  const prep = await timeIt(() => Promise.all(pngs.map((png) => preprocessImage(png, plan))), 3);
  console.log(
    `preprocessing alone (sharp decode + resize + crop + normalize): ${(BATCH / prep).toFixed(1)} images/s`,
  );
  const spec = EncoderSpecSchema.parse({
    checkpoint: dir,
    ...(DTYPE === 'fp16' ? { compute: 'float16' } : {}),
  });
  const opened = await openEncoderSession(spec, { checkpointDir: dir, processorDir: dir }, { ep: EP });
  if (opened.modality !== 'image') throw new Error(`${dir} is not a vision tower`);
  const runner = new VisionRunner(opened, spec);
  const e2e = await timeIt(() => runner.encode(pngs), Math.max(2, Math.floor(RUNS / 2)));
  await runner.close();
  console.log(
    `runner end to end (300x256 PNG -> preprocessing -> tower): ${(BATCH / e2e).toFixed(2)} images/s`,
  );

  if (WITH_TORCH) {
    const pixelsPath = join(dir, `pixels-b${BATCH}.safetensors`);
    writeSafetensors(pixelsPath, { pixel_values: pixels });
    const script = fileURLToPath(new URL('torch_vit.py', import.meta.url));
    const torch = spawnSync(
      PYTHON,
      [script, dir, pixelsPath, String(LAYER), '1', String(RUNS), TORCH_DEVICE, TORCH_PRECISIONS],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    if (torch.status !== 0) {
      console.log(
        `PyTorch baseline failed (apt-get install python3-torch libopenblas0-pthread): ${torch.stderr.slice(-500)}`,
      );
    } else {
      const head = features?.data as Float32Array;
      for (const line of torch.stdout
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))) {
        const result = JSON.parse(line) as {
          torch: string;
          threads: number;
          device: string;
          precision: string;
          gpu?: string;
          images_per_sec: number;
          head: number[];
        };
        let maxDiff = 0;
        result.head.forEach((v, i) => {
          maxDiff = Math.max(maxDiff, Math.abs(v - head[i]));
        });
        const where =
          result.device === 'cuda' ? `${result.gpu} ${result.precision}` : `cpu (${result.threads} threads)`;
        console.log(
          `PyTorch ${result.torch} ${where}: ${result.images_per_sec.toFixed(2)} images/s; ` +
            `ours/PyTorch = ${(ours / result.images_per_sec).toFixed(2)}x${result.device === 'cpu' ? ' (target >= 3x)' : ''}; max |diff| on ${result.head.length} outputs ${maxDiff.toExponential(2)}`,
        );
      }
    }
  }
  console.log(`load average after: ${load()}`);
}

await main();
