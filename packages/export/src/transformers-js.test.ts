// The transformers.js folder of a real tiny run (Llama + LoRA, merged): each ONNX file, loaded
// in onnxruntime-node from disk, gives what our own graphs give for the same inputs, and
// @huggingface/transformers itself loads the folder offline and generates our engine's greedy tokens.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as transformers from '@huggingface/transformers';
import { createGenerator } from '@mmit/inference';
import {
  buildCachedGraph,
  buildEmbedGraph,
  type LanguageModel,
  languageModelFromCheckpoint,
  maxRelative,
  openCheckpointFolder,
  pastName,
  positionsFromMask,
  presentName,
  withMergedLora,
} from '@mmit/models';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import { createSession, type HostTensor, hostTensor } from '@mmit/tensor';
import { fixturesDir } from '../../../test/paths.js';
import { type ExportRun, loadExportRun } from './run-source.js';
import { referenceImageRows, testPixels, trainTinyRun } from './testing.js';
import { exportTransformersJs, TJS_FILES } from './transformers-js.js';

let store: TestStore;
let run: ExportRun;
let out: string;
/** Our engine's LM with the run's adapters merged: what the exported decoder must compute. */
let lm: LanguageModel;

const IMAGE_ROWS = 16;

before(async () => {
  store = await startTestStore({ name: 'export-tjs' });
  const { bucket } = store;
  const runId = await trainTinyRun(bucket, { fixturesDir, lm: 'tiny-llama', lora: true });
  run = await loadExportRun(bucket, runId);
  out = join(store.dir, 'tjs');
  exportTransformersJs(run, out);
  lm = languageModelFromCheckpoint(withMergedLora(openCheckpointFolder(run.lmDir), run.lora!));
});
after(() => store?.stop());

const int64 = (dims: number[], values: ArrayLike<number>): HostTensor =>
  hostTensor('int64', dims, Array.from(values));
const asInt32 = (t: HostTensor): HostTensor<'int32'> =>
  hostTensor('int32', t.dims, Array.from(t.data as BigInt64Array, Number));

/** A prompt with the image's rows in the middle: 3 text tokens, 16 `<image>`, 2 text tokens. */
function promptIds(imageTokenId: number): number[] {
  return [10, 11, 12, ...Array<number>(IMAGE_ROWS).fill(imageTokenId), 20, 21];
}

describe('transformers.js ONNX files', () => {
  test('carry the session, input and output names transformers.js uses', async () => {
    const embed = await createSession(join(out, TJS_FILES.embedTokens));
    assert.deepEqual([embed.inputNames, embed.outputNames], [['input_ids'], ['inputs_embeds']]);
    const vision = await createSession(join(out, TJS_FILES.visionEncoder));
    assert.deepEqual([vision.inputNames, vision.outputNames], [['pixel_values'], ['image_features']]);
    const decoder = await createSession(join(out, TJS_FILES.decoder));
    const layers = lm.config.numLayers;
    const kv = (prefix: (i: number, w: 'key' | 'value') => string) =>
      Array.from({ length: layers }, (_, i) => [prefix(i, 'key'), prefix(i, 'value')]).flat();
    assert.deepEqual(
      [...decoder.inputNames].sort(),
      ['inputs_embeds', 'attention_mask', 'position_ids', ...kv(pastName)].sort(),
    );
    assert.deepEqual([...decoder.outputNames].sort(), ['logits', ...kv(presentName)].sort());
  });

  test('embed_tokens equals our embed graph', async () => {
    const ids = int64([2, 4], [1, 7, 3, 399, 0, 5, 42, 3]);
    const exported = await (await createSession(join(out, TJS_FILES.embedTokens))).run({ input_ids: ids });
    const ours = await (await createSession(buildEmbedGraph(lm))).run({ input_ids: asInt32(ids) });
    assert.deepEqual(exported.inputs_embeds.dims, [2, 4, lm.config.hiddenSize]);
    assert.deepEqual(exported.inputs_embeds.data, ours.inputs_embeds.data);
  });

  test('vision_encoder equals our tower features through the trained projector', async () => {
    const pixels = testPixels(2, 32);
    const exported = await (await createSession(join(out, TJS_FILES.visionEncoder))).run({
      pixel_values: pixels,
    });
    const ours = await referenceImageRows(run, pixels);
    assert.deepEqual(exported.image_features.dims, [2, IMAGE_ROWS, lm.config.hiddenSize]);
    const error = maxRelative(exported.image_features, ours);
    assert.ok(error < 1e-5, `image_features max relative error ${error}`);
  });

  test('decoder_model_merged: prefill (empty past) and one decode step equal our cached graphs', async () => {
    const decoder = await createSession(join(out, TJS_FILES.decoder));
    const prefill = await createSession(buildCachedGraph(lm, { withPast: false }));
    const step = await createSession(buildCachedGraph(lm, { withPast: true }));
    const { numLayers, numKvHeads, headDim, hiddenSize } = lm.config;
    // Two rows, the first left-padded by two, as generate batches prompts.
    const [batch, length] = [2, 6];
    const mask = hostTensor('int32', [batch, length], [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const embeds = hostTensor(
      'float32',
      [batch, length, hiddenSize],
      Array.from({ length: batch * length * hiddenSize }, (_, i) => Math.cos(i * 0.11)),
    );
    const positions = positionsFromMask(mask, length);
    const emptyPast = Object.fromEntries(
      Array.from({ length: numLayers }, (_, i) => [pastName(i, 'key'), pastName(i, 'value')])
        .flat()
        .map((name) => [name, hostTensor('float32', [batch, numKvHeads, 0, headDim])]),
    );
    const first = await decoder.run({
      inputs_embeds: embeds,
      attention_mask: int64(mask.dims, mask.data),
      position_ids: int64(positions.dims, positions.data),
      ...emptyPast,
    });
    const expected = await prefill.run({
      inputs_embeds: embeds,
      attention_mask: mask,
      position_ids: positions,
    });
    for (const name of prefill.outputNames) {
      assert.deepEqual(first[name].dims, expected[name].dims, name);
      const error = maxRelative(first[name], expected[name]);
      assert.ok(error < 1e-5, `prefill ${name}: ${error}`);
    }
    const nextMask = hostTensor('int32', [batch, length + 1], [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const nextPositions = positionsFromMask(nextMask, 1);
    const nextEmbeds = hostTensor(
      'float32',
      [batch, 1, hiddenSize],
      Array.from({ length: batch * hiddenSize }, (_, i) => Math.sin(i)),
    );
    const pastFrom = (outputs: Record<string, HostTensor>) =>
      Object.fromEntries(
        Array.from({ length: numLayers }, (_, i) => [
          [pastName(i, 'key'), outputs[presentName(i, 'key')]],
          [pastName(i, 'value'), outputs[presentName(i, 'value')]],
        ]).flat(),
      );
    const second = await decoder.run({
      inputs_embeds: nextEmbeds,
      attention_mask: int64(nextMask.dims, nextMask.data),
      position_ids: int64(nextPositions.dims, nextPositions.data),
      ...pastFrom(first),
    });
    const expectedSecond = await step.run({
      inputs_embeds: nextEmbeds,
      attention_mask: nextMask,
      position_ids: nextPositions,
      ...pastFrom(expected),
    });
    for (const name of step.outputNames) {
      assert.deepEqual(second[name].dims, expectedSecond[name].dims, name);
      const error = maxRelative(second[name], expectedSecond[name]);
      assert.ok(error < 1e-5, `decode step ${name}: ${error}`);
    }
  });
});

describe('@huggingface/transformers on the exported folder', () => {
  test('loads it offline as LlavaForConditionalGeneration: same logits and greedy tokens as our engine', async () => {
    transformers.env.allowRemoteModels = false;
    const model = await transformers.LlavaForConditionalGeneration.from_pretrained(out, {
      local_files_only: true,
      dtype: 'fp32',
      device: 'cpu',
    });
    const imageTokenId = (model.config as unknown as { image_token_index: number }).image_token_index;
    const ids = promptIds(imageTokenId);
    const pixels = testPixels(1, 32, 5);
    const inputs = {
      input_ids: new transformers.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
      attention_mask: new transformers.Tensor(
        'int64',
        BigInt64Array.from(ids, () => 1n),
        [1, ids.length],
      ),
      pixel_values: new transformers.Tensor('float32', pixels.data as Float32Array, pixels.dims),
    };

    // Our engine: token embeddings with the image rows spliced in, then the KV-cached graphs.
    const generator = createGenerator(lm);
    const embeds = await generator.embed(hostTensor('int32', [1, ids.length], ids));
    const rows = (await referenceImageRows(run, pixels)).data as Float32Array;
    const d = lm.config.hiddenSize;
    const data = embeds.data as Float32Array;
    ids.forEach((id, t) => {
      if (id === imageTokenId) data.set(rows.subarray((t - 3) * d, (t - 2) * d), t * d);
    });
    const mask = hostTensor(
      'int32',
      [1, ids.length],
      ids.map(() => 1),
    );
    const ourLogits = (
      await (
        await createSession(buildCachedGraph(lm, { withPast: false }))
      ).run({
        inputs_embeds: embeds,
        attention_mask: mask,
        position_ids: positionsFromMask(mask, ids.length),
      })
    ).logits;
    const theirLogits = (await model(inputs)).logits as transformers.Tensor;
    assert.deepEqual(theirLogits.dims, ourLogits.dims);
    const error = maxRelative(theirLogits.data as Float32Array, ourLogits);
    assert.ok(error < 1e-5, `logits max relative error ${error}`);

    const maxNewTokens = 8;
    const ours = (await generator.generateFromEmbeds(embeds, mask, { maxNewTokens }))[0];
    const sequences = (await model.generate({
      ...inputs,
      max_new_tokens: maxNewTokens,
      do_sample: false,
    })) as transformers.Tensor;
    const theirs = (sequences.tolist() as bigint[][])[0].slice(ids.length).map(Number);
    assert.deepEqual(theirs, ours);
    assert.ok(ours.length > 0);
    await model.dispose();
  });

  test("the model card's load code runs as written: AutoProcessor gives a LlavaProcessor", async () => {
    transformers.env.allowRemoteModels = false;
    const card = readFileSync(join(out, 'README.md'), 'utf8');
    assert.match(card, /library_name: transformers\.js/);
    assert.match(card, /AutoProcessor\.from_pretrained\('path\/to\/this\/folder'\)/);
    // The card's code, with the folder and a picture filled in.
    const model = await transformers.LlavaForConditionalGeneration.from_pretrained(out, { dtype: 'fp32' });
    const processor = await transformers.AutoProcessor.from_pretrained(out);
    assert.equal(processor.constructor.name, 'LlavaProcessor');
    const messages = [{ role: 'user', content: '<image>\nWhat is in the picture?' }];
    const tokenizer = processor.tokenizer;
    assert.ok(tokenizer);
    const prompt = tokenizer.apply_chat_template(messages, {
      tokenize: false,
      add_generation_prompt: true,
    }) as string;
    const inputs = await processor(
      await transformers.RawImage.read(join(fixturesDir, 'case_clip_image.png')),
      prompt,
    );
    // One `<image>` became image_seq_length image tokens.
    const ids = (inputs.input_ids as transformers.Tensor).tolist() as bigint[][];
    assert.equal(ids[0].filter((id) => Number(id) === 3).length, 16);
    const output = (await model.generate({
      ...inputs,
      max_new_tokens: 4,
      do_sample: false,
    })) as transformers.Tensor;
    assert.equal(output.dims[1], ids[0].length + 4);
    const answer = processor.batch_decode(output.slice(null, [ids[0].length, output.dims[1]]), {
      skip_special_tokens: true,
    })[0];
    assert.equal(typeof answer, 'string');
    await model.dispose();
  });
});
