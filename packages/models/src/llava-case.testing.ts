// The tiny-Llama LLaVA golden case (`case_llava_llama` in shared/fixtures/hf-tiny) as the model
// tests use it: the batch the step graph takes and the projector weights under our names.
// Test support only; the package does not export it.
import { join } from 'node:path';
import { readSafetensors, toNumbers } from '@mmit/tensor';
import { fixturesDir } from '../../../test/paths.js';
import type { LlavaBatch } from './llava-step.js';
import type { ProjectorSpec } from './projector.js';

export const tinyLlamaDir = join(fixturesDir, 'tiny-llama');

export function llavaLlamaCase() {
  const reference = readSafetensors(join(fixturesDir, 'case_llava_llama.safetensors')).tensors;
  const batch: LlavaBatch = {
    features: reference.features,
    inputIds: reference.input_ids,
    attentionMask: reference.attention_mask,
    labels: reference.labels,
  };
  const spec: ProjectorSpec = { type: 'mlp2x_gelu', inputDim: 64, outputDim: 64 };
  const projector = Object.fromEntries(
    ['linear_1.weight', 'linear_1.bias', 'linear_2.weight', 'linear_2.bias'].map((n) => [
      `projector.${n}`,
      Float32Array.from(toNumbers(reference[`projector.${n}`])),
    ]),
  );
  return { reference, batch, spec, projector };
}
