// Companion of check_hf_export.py: trains tiny LoRA runs (Llama, and Phi-3 with fused projections)
// through the trainer's code, exports each as a Hugging Face LLaVA folder, and writes beside it
// what our engine computes for one prompt: the token ids (one `<image>` expanded to the image's
// rows), the pixel values and the logits of every position (embeddings with the projected image
// rows spliced in, through the prefill graph of the LoRA-merged LM).
// Usage: npx tsx bench/goldens/export-reference.ts <out folder>
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exportHfLlava } from '../../packages/export/src/hf-llava.js';
import { loadExportRun } from '../../packages/export/src/run-source.js';
import { referenceImageRows, testPixels, trainTinyRun } from '../../packages/export/src/testing.js';
import { createGenerator } from '../../packages/inference/src/index.js';
import {
  buildCachedGraph,
  languageModelFromCheckpoint,
  openCheckpointFolder,
  positionsFromMask,
  withMergedLora,
} from '../../packages/models/src/index.js';
import { Bucket, embeddedS3Config, startEmbeddedS3 } from '../../packages/storage/src/index.js';
import { createSession, hostTensor, toNumbers } from '../../packages/tensor/src/index.js';
import { decoderFixturesDir, fixturesDir } from '../../test/paths.js';

const out = resolve(process.argv[2] ?? 'export-check');
const IMAGE = 3;
const s3 = await startEmbeddedS3({ dir: join(out, 's3'), port: 0 });
const bucket = new Bucket(embeddedS3Config(s3));
await bucket.ensure();
for (const lmDir of [join(fixturesDir, 'tiny-llama'), join(decoderFixturesDir, 'tiny-phi3')]) {
  const name = lmDir.split('/').pop()!;
  const run = await loadExportRun(bucket, await trainTinyRun(bucket, { fixturesDir, lm: lmDir, lora: true }));
  const folder = join(out, name);
  exportHfLlava(run, folder, { force: true });
  const lm = languageModelFromCheckpoint(withMergedLora(openCheckpointFolder(run.lmDir), run.lora!));
  const ids = [10, 11, 12, ...Array<number>(16).fill(IMAGE), 20, 21, 22, 23];
  const pixels = testPixels(1, 32, 5);
  const generator = createGenerator(lm);
  const embeds = await generator.embed(hostTensor('int32', [1, ids.length], ids));
  const rows = (await referenceImageRows(run, pixels)).data as Float32Array;
  const d = lm.config.hiddenSize;
  (embeds.data as Float32Array).set(rows, 3 * d);
  const mask = hostTensor(
    'int32',
    [1, ids.length],
    ids.map(() => 1),
  );
  const session = await createSession(buildCachedGraph(lm, { withPast: false }));
  const { logits } = await session.run({
    inputs_embeds: embeds,
    attention_mask: mask,
    position_ids: positionsFromMask(mask, ids.length),
  });
  writeFileSync(
    join(out, `${name}.reference.json`),
    JSON.stringify({
      folder,
      input_ids: ids,
      pixel_values: { dims: pixels.dims, data: Array.from(pixels.data as Float32Array) },
      logits: { dims: logits.dims, data: Array.from(toNumbers(logits)) },
    }),
  );
  console.log(`${name}: exported to ${folder}, reference written`);
}
await s3.stop();
