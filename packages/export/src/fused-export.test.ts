// Exports of a family with fused projections (Phi-3: qkv_proj, gate_up_proj), from a real tiny
// LoRA run: the merged folder keeps the fused tensors (with the merged parts stacked back) and
// reproduces the trained model's logits through our loader; the PEFT folder carries one adapter
// per fused module whose B A equals the parts' adapters stacked, with the rank and alpha patterns
// that keep alpha / r.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { maxRelative } from '@mmit/models';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import { type HostTensor, openCheckpoint, readSafetensors } from '@mmit/tensor';
import { decoderFixturesDir, fixturesDir } from '../../../test/paths.js';
import { exportHfLlava, LORA_ADAPTER_DIR } from './hf-llava.js';
import { type ExportRun, loadExportRun } from './run-source.js';
import { exportLogits, trainTinyRun } from './testing.js';

let store: TestStore;
let run: ExportRun;
let out: string;
const _IMAGE_TOKEN_ID = 3;
const PEFT = 'base_model.model.model.language_model.layers';

before(async () => {
  store = await startTestStore({ name: 'export-fused' });
  const { bucket } = store;
  // The tower comes from the shared fixtures, the LM from the decoder fixtures.
  const runId = await trainTinyRun(bucket, {
    fixturesDir,
    lm: join(decoderFixturesDir, 'tiny-phi3'),
    lora: true,
  });
  run = await loadExportRun(bucket, runId);
  out = join(store.dir, 'phi3');
  exportHfLlava(run, out);
});
after(() => store?.stop());

/** a (m, k) @ b (k, n), row-major. */
function matmul(a: HostTensor, b: HostTensor): Float32Array {
  const [m, k] = a.dims;
  const n = b.dims[1];
  const outData = new Float32Array(m * n);
  const av = a.data as Float32Array;
  const bv = b.data as Float32Array;
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++)
      for (let j = 0; j < n; j++) outData[i * n + j] += av[i * k + p] * bv[p * n + j];
  return outData;
}

test('the merged export keeps qkv_proj fused and reproduces the trained model', async () => {
  const file = openCheckpoint(out);
  const names = file.names();
  file.close();
  assert.ok(names.includes('model.language_model.layers.0.self_attn.qkv_proj.weight'));
  assert.ok(names.includes('model.language_model.layers.1.mlp.gate_up_proj.weight'));
  assert.ok(!names.some((n) => /language_model\..*\.(?:q_proj|gate_proj)\./.test(n)));
  const { trained, exported, withoutLora } = await exportLogits(run, out);
  const error = maxRelative(exported, trained);
  assert.ok(error < 1e-5, `logits max relative error ${error}`);
  // The merge mattered: the LM without its adapters is measurably different.
  assert.ok(maxRelative(withoutLora, trained) > 1e-3, 'the trained adapters should change the logits');
});

test('the PEFT folder has one adapter per fused module, equal to its parts stacked', () => {
  const adapterDir = join(out, LORA_ADAPTER_DIR);
  const config = JSON.parse(readFileSync(join(adapterDir, 'adapter_config.json'), 'utf8'));
  const pattern = new RegExp(`^(?:${config.target_modules})$`);
  assert.ok(pattern.test('model.language_model.layers.0.self_attn.qkv_proj'));
  assert.ok(pattern.test('model.language_model.layers.0.mlp.down_proj'));
  assert.ok(!pattern.test('model.language_model.layers.0.self_attn.q_proj'));
  // q and v of qkv_proj are adapted: rank 2r, alpha 2 alpha; down_proj keeps r and alpha.
  assert.deepEqual(config.rank_pattern, { qkv_proj: 8 });
  assert.deepEqual(config.alpha_pattern, { qkv_proj: 16 });
  const { tensors } = readSafetensors(join(adapterDir, 'adapter_model.safetensors'));
  const lora = run.lora!.weights;
  assert.ok(!Object.keys(tensors).some((n) => /\.(?:q_proj|v_proj)\./.test(n)));
  assert.deepEqual(
    tensors[`${PEFT}.2.mlp.down_proj.lora_A.weight`].data,
    lora['lora.layers.2.mlp.down.A'].data,
  );
  // B A of the fused adapter, rows by part: q's B_q A_q, then k's zero, then v's B_v A_v.
  const a = tensors[`${PEFT}.1.self_attn.qkv_proj.lora_A.weight`];
  const b = tensors[`${PEFT}.1.self_attn.qkv_proj.lora_B.weight`];
  assert.deepEqual(a.dims, [8, 64]);
  assert.deepEqual(b.dims, [64 + 32 + 32, 8]);
  const fused = matmul(b, a);
  const part = (name: string) =>
    matmul(lora[`lora.layers.1.attn.${name}.B`], lora[`lora.layers.1.attn.${name}.A`]);
  const expected = new Float32Array(128 * 64);
  expected.set(part('q'), 0);
  expected.set(part('v'), 96 * 64);
  assert.ok(maxRelative(fused, expected) < 1e-6, 'B A of the fused adapter');
  assert.ok(
    part('q').some((x) => Math.abs(x) > 1e-4),
    'the trained q adapter is not zero',
  );
});
