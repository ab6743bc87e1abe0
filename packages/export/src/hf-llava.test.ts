// The Hugging Face LLaVA folder of real tiny runs (Llama + LoRA, sharded; Qwen2 with tied
// embeddings and a `linear` projector): transformers 5 names and shapes, config keys, side files,
// and round trips through our own loaders: the exported LM reproduces the logits of the model the
// run trained (LoRA merged), and the vision tower loads from the LLaVA layout.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  arangePositions,
  buildForwardGraph,
  buildVisionGraph,
  languageModelFromCheckpoint,
  maxRelative,
  openCheckpointFolder,
  openVisionTower,
} from '@mmit/models';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import { createSession, hostTensor, openCheckpoint, readSafetensors } from '@mmit/tensor';
import { exportName } from '@mmit/train';
import { fixturesDir } from '../../../test/paths.js';
import { ExportError } from './errors.js';
import { exportHfLlava, type HfExportResult, LORA_ADAPTER_DIR } from './hf-llava.js';
import { type ExportRun, loadExportRun } from './run-source.js';
import { exportLogits, type TinyRunOptions, testPixels, trainTinyRun } from './testing.js';

let store: TestStore;
let llama: { run: ExportRun; out: string; result: HfExportResult };
let qwen: { run: ExportRun; out: string; result: HfExportResult };

const IMAGE_TOKEN_ID = 3; // `<image>` in the fixtures' tokenizer
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
const fixture = (name: string) => join(fixturesDir, name);

before(async () => {
  store = await startTestStore({ name: 'export-hf' });
  const { bucket } = store;
  const exportRun = async (
    lm: TinyRunOptions['lm'],
    extra: Partial<TinyRunOptions>,
    maxShardBytes?: number,
  ) => {
    const run = await loadExportRun(bucket, await trainTinyRun(bucket, { fixturesDir, lm, ...extra }));
    const out = join(store.dir, lm);
    return { run, out, result: exportHfLlava(run, out, { maxShardBytes }) };
  };
  // 200 kB shards split the tiny model (about 1 MB) into several files.
  llama = await exportRun('tiny-llama', { lora: true }, 200_000);
  qwen = await exportRun('tiny-qwen2', { projector: 'linear' });
});
after(() => store?.stop());

/** The names (and shapes) the LLaVA folder must hold for a tower and LM checkpoint. */
function expectedWeights(lm: string, tiedHead: boolean, d: number): Map<string, number[]> {
  const expected = new Map<string, number[]>();
  const add = (source: string, rename: (n: string) => string | null) => {
    const file = openCheckpoint(source);
    for (const n of file.names()) {
      const name = rename(n);
      if (name) expected.set(name, file.info(n).dims);
    }
    file.close();
  };
  add(fixture('tiny-clip-vision'), (n) => `model.vision_tower.vision_model.${n}`);
  add(fixture(lm), (n) =>
    n === 'lm_head.weight' ? (tiedHead ? null : n) : `model.language_model.${n.slice('model.'.length)}`,
  );
  for (const [name, dims] of [
    ['linear_1.weight', [d, 64]],
    ['linear_1.bias', [d]],
    ['linear_2.weight', [d, d]],
    ['linear_2.bias', [d]],
  ] as const)
    expected.set(`model.multi_modal_projector.${name}`, [...dims]);
  return expected;
}

function writtenWeights(out: string): Map<string, number[]> {
  const file = openCheckpoint(out);
  const written = new Map(file.names().map((n) => [n, file.info(n).dims]));
  file.close();
  return written;
}

describe('exportHfLlava', () => {
  test('writes transformers 5 LLaVA names with the source shapes, sharded with an index', () => {
    const index = readJson(join(llama.out, 'model.safetensors.index.json')) as {
      metadata: { total_size: number };
      weight_map: Record<string, string>;
    };
    const shards = new Set(Object.values(index.weight_map));
    assert.ok(shards.size > 1, `expected several shards, got ${[...shards].join(', ')}`);
    assert.ok([...shards].every((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)));
    assert.equal(index.metadata.total_size, llama.result.totalBytes);
    assert.deepEqual(writtenWeights(llama.out), expectedWeights('tiny-llama', false, 64));
    // Every shard is a safetensors file transformers accepts: {"format": "pt"} metadata.
    for (const shard of shards) assert.equal(readSafetensors(join(llama.out, shard)).metadata.format, 'pt');
  });

  test('a tied LM keeps one embedding table (no lm_head), in a single model.safetensors', () => {
    assert.ok(qwen.result.files.includes('model.safetensors'));
    assert.ok(!qwen.result.files.includes('model.safetensors.index.json'));
    assert.deepEqual(writtenWeights(qwen.out), expectedWeights('tiny-qwen2', true, 64));
    assert.equal(
      (readJson(join(qwen.out, 'config.json')) as { tie_word_embeddings: boolean }).tie_word_embeddings,
      true,
    );
  });

  test('config.json is a LlavaConfig built from the LM and tower configs and the run', () => {
    const config = readJson(join(llama.out, 'config.json'));
    const lmConfig = readJson(fixture('tiny-llama/config.json'));
    const { architectures: _a, transformers_version: _t, ...textConfig } = lmConfig;
    const {
      architectures: _b,
      transformers_version: _u,
      ...visionConfig
    } = readJson(fixture('tiny-clip-vision/config.json'));
    assert.deepEqual(config.architectures, ['LlavaForConditionalGeneration']);
    assert.equal(config.model_type, 'llava');
    assert.deepEqual(config.text_config, textConfig);
    assert.deepEqual(config.vision_config, visionConfig);
    assert.equal(config.image_token_index, IMAGE_TOKEN_ID);
    assert.equal(config.image_token_id, IMAGE_TOKEN_ID);
    assert.equal(config.image_seq_length, 16); // (32 / 8)^2 patches, CLS dropped
    assert.equal(config.vision_feature_layer, -2);
    assert.equal(config.vision_feature_select_strategy, 'default');
    assert.equal(config.projector_hidden_act, 'gelu');
    assert.deepEqual(config.mmit_export, {
      run: llama.run.runId,
      step: llama.run.step,
      projector: 'mlp2x_gelu',
      lora: { rank: 4, alpha: 8, merged: true },
    });
    // Floats of the sources stay floats: transformers 5 refuses `"initializer_factor": 1`.
    const text = readFileSync(join(llama.out, 'config.json'), 'utf8');
    assert.match(text, /"initializer_factor": 1\.0,/);
    assert.match(text, /"attention_dropout": 0\.0,/);
    assert.match(text, /"rope_theta": 10000\.0/);
  });

  test('writes the tokenizer (with chat_template.jinja), image processor, LLaVA processor and generation configs', () => {
    for (const file of ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja']) {
      assert.deepEqual(
        readFileSync(join(llama.out, file)),
        readFileSync(fixture(`tiny-llama/${file}`)),
        file,
      );
    }
    // The encoder's image processor, named LlavaProcessor's so AutoProcessor builds the right class.
    assert.deepEqual(readJson(join(llama.out, 'preprocessor_config.json')), {
      ...readJson(fixture('tiny-clip-vision/preprocessor_config.json')),
      processor_class: 'LlavaProcessor',
    });
    assert.deepEqual(
      readJson(join(llama.out, 'generation_config.json')),
      readJson(fixture('tiny-llama/generation_config.json')),
    );
    // Python's LlavaProcessor: 16 patches + 1 (CLS) - 1 ('default' drops it) = image_seq_length.
    assert.deepEqual(readJson(join(llama.out, 'processor_config.json')), {
      processor_class: 'LlavaProcessor',
      image_token: '<image>',
      patch_size: 8,
      vision_feature_select_strategy: 'default',
      num_additional_image_tokens: 1,
    });
  });

  test('the exported LM (LoRA merged) reproduces the logits of the model the run trained', async () => {
    const { run, out } = llama;
    const { trained, exported, withoutLora } = await exportLogits(run, out);
    const error = maxRelative(exported, trained);
    assert.ok(error < 1e-5, `logits max relative error ${error}`);
    // The merge mattered: the LM without its adapters is measurably different.
    assert.ok(maxRelative(withoutLora, trained) > 1e-3, 'the trained adapters should change the logits');
  });

  test('a projector-only run exports the LM unchanged (same logits as the original checkpoint)', async () => {
    const ids = hostTensor('int32', [1, 6], [10, 11, 12, 13, 14, 15]);
    const feeds = {
      input_ids: ids,
      attention_mask: hostTensor('int32', [1, 6], [1, 1, 1, 1, 1, 1]),
      position_ids: arangePositions(1, 6),
    };
    const logits = async (lmDir: string) =>
      (
        await (
          await createSession(
            buildForwardGraph(languageModelFromCheckpoint(openCheckpointFolder(lmDir)), { input: 'ids' }),
          )
        ).run(feeds)
      ).logits;
    assert.deepEqual((await logits(qwen.out)).data, (await logits(fixture('tiny-qwen2'))).data);
  });

  test('a linear projector becomes linear_1, the identity activation and an identity linear_2', () => {
    const config = readJson(join(qwen.out, 'config.json'));
    assert.equal(config.projector_hidden_act, 'linear');
    const { tensors } = readSafetensors(join(qwen.out, 'model.safetensors'));
    const p = 'model.multi_modal_projector.';
    assert.deepEqual(
      tensors[`${p}linear_1.weight`].data,
      qwen.run.projector.weights['projector.linear_1.weight'].data,
    );
    assert.deepEqual(
      tensors[`${p}linear_1.bias`].data,
      qwen.run.projector.weights['projector.linear_1.bias'].data,
    );
    const identity = tensors[`${p}linear_2.weight`].data as Float32Array;
    identity.forEach((v, i) => {
      assert.equal(v, Math.floor(i / 64) === i % 64 ? 1 : 0);
    });
    assert.ok((tensors[`${p}linear_2.bias`].data as Float32Array).every((v) => v === 0));
  });

  test('the vision tower loads from the LLaVA layout and gives the original tower features', async () => {
    const exported = openVisionTower(llama.out);
    assert.equal(exported.weights.prefix, 'model.vision_tower.vision_model.');
    const original = openVisionTower(fixture('tiny-clip-vision'));
    const request = { features: { layer: -2, select: 'patch' as const } };
    const pixels = testPixels(2, 32);
    const run = async (tower: typeof original) =>
      (await (await createSession(buildVisionGraph(tower, request))).run({ pixel_values: pixels }))
        .image_features;
    assert.deepEqual((await run(exported)).data, (await run(original)).data);
    exported.weights.close();
    original.weights.close();
  });

  test('writes the LoRA adapters as a PEFT folder limited to the language model', () => {
    const adapterDir = join(llama.out, LORA_ADAPTER_DIR);
    assert.equal(llama.result.adapterDir, adapterDir);
    const config = readJson(join(adapterDir, 'adapter_config.json'));
    assert.equal(config.peft_type, 'LORA');
    assert.equal(config.r, 4);
    assert.equal(config.lora_alpha, 8);
    assert.equal(config.base_model_name_or_path, null); // merged: the unmerged base is not on disk
    const pattern = new RegExp(`^(?:${config.target_modules})$`);
    assert.ok(pattern.test('model.language_model.layers.1.self_attn.v_proj'));
    assert.ok(pattern.test('model.language_model.layers.0.mlp.down_proj'));
    assert.ok(!pattern.test('model.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj'));
    assert.ok(!pattern.test('model.language_model.layers.0.self_attn.k_proj'));
    const { tensors } = readSafetensors(join(adapterDir, 'adapter_model.safetensors'));
    const lora = llama.run.lora!.weights;
    assert.deepEqual(Object.keys(tensors).sort(), Object.keys(lora).map(exportName).sort());
    for (const [ours, t] of Object.entries(lora))
      assert.deepEqual(tensors[exportName(ours)].data, t.data, ours);
  });

  test('mergeLora: false keeps the original LM weights and names the folder as the adapter base', () => {
    const out = join(store.dir, 'unmerged');
    const result = exportHfLlava(llama.run, out, { mergeLora: false });
    assert.equal(result.loraMerged, false);
    const name = 'model.language_model.layers.0.self_attn.q_proj.weight';
    const read = (folder: string) => {
      const file = openCheckpoint(folder);
      const data = file.read(name).data;
      file.close();
      return data;
    };
    const base = readSafetensors(fixture('tiny-llama/model.safetensors')).tensors[
      'model.layers.0.self_attn.q_proj.weight'
    ].data;
    assert.deepEqual(read(out), base);
    assert.notDeepEqual(read(llama.out), base);
    assert.equal(readJson(join(out, LORA_ADAPTER_DIR, 'adapter_config.json')).base_model_name_or_path, out);
  });

  test('the model card names the base models, the data, the training settings, metrics and load code', () => {
    const card = readFileSync(join(llama.out, 'README.md'), 'utf8');
    const front = /^---\n([\s\S]*?)\n---\n/.exec(card)?.[1] ?? '';
    assert.match(front, /library_name: transformers\n/);
    assert.match(front, /pipeline_tag: image-text-to-text/);
    assert.ok(front.includes(`  - ${llama.run.spec.lm.checkpoint}`), front);
    assert.ok(front.includes('  - lora'));
    const state = llama.run.state!;
    assert.ok(
      card.includes(`${state.data!.train} training and ${state.data!.validation} validation samples`),
    );
    assert.ok(card.includes(`| LoRA | rank 4, alpha 8, on q_proj, v_proj, down_proj |`));
    assert.ok(
      card.includes(
        `Training loss at step ${state.latest!.step}: ${Number(state.latest!.loss.toPrecision(4))}`,
      ),
    );
    assert.match(card, /LlavaForConditionalGeneration\.from_pretrained\("path\/to\/this\/folder"\)/);
    assert.ok(llama.result.files.includes('README.md'));
  });

  test('a failed export leaves no folder behind, and a refused one starts no work', async () => {
    const { dir } = store;
    const out = join(dir, 'failed');
    const broken = { ...llama.run, encoder: { ...llama.run.encoder, processorDir: join(dir, 'nowhere') } };
    assert.throws(
      () => exportHfLlava(broken, out),
      (err: unknown) => err instanceof ExportError && /preprocessor_config\.json/.test(err.message),
    );
    assert.equal(existsSync(out), false);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('.partial-')),
      [],
      'the staging folder is removed',
    );
  });

  test('refuses a non-empty folder unless forced', () => {
    assert.throws(
      () => exportHfLlava(qwen.run, qwen.out),
      (err: unknown) =>
        err instanceof ExportError && err.problemCode === 'conflict' && /not empty/.test(err.message),
    );
    assert.doesNotThrow(() => exportHfLlava(qwen.run, qwen.out, { force: true }));
  });
});
