// Golden cases this package checks for `mmit verify` (they join @mmit/models' runners through
// VerifyOptions.runners): `lm_generate` is transformers' greedy `generate` with the KV cache, the
// token ids it chose and the logits of every step, run here through the decoder loop serve and the
// CLI generate with (prefill, then one cached step per token). It is what catches a cache or mask
// that is right for a whole sequence but wrong one token at a time (sliding windows, positions).
import { join } from 'node:path';
import {
  type CaseRunner,
  languageModelFromCheckpoint,
  maxRelative,
  measure,
  openCheckpointFolder,
  tolerances,
} from '@mmit/models';
import { type HostTensor, toNumbers } from '@mmit/tensor';
import { z } from 'zod';
import { decodeTokens, embedIds, openDecoderSessions, releaseDecoderSessions } from './decoder.js';
import { argmax } from './sampler.js';

const generateCase = z.object({ model: z.string(), new_tokens: z.number().int().positive() });

function caseTensor(tensors: Record<string, HostTensor>, name: string): HostTensor {
  const t = tensors[name];
  if (!t) throw new Error(`case tensor '${name}' is missing; present: ${Object.keys(tensors).join(', ')}`);
  return t;
}

export const runGenerateCase: CaseRunner = async (context) => {
  const meta = generateCase.parse(context.metadata);
  const lm = languageModelFromCheckpoint(openCheckpointFolder(join(context.dir, meta.model)));
  const prompt = Array.from(toNumbers(caseTensor(context.tensors, 'input_ids')));
  const expectedIds = toNumbers(caseTensor(context.tensors, 'generated'));
  const expectedLogits = caseTensor(context.tensors, 'step_logits');
  const sessions = await openDecoderSessions(lm, context.ep);
  const vocab = lm.config.vocabSize;
  const logits = new Float32Array(meta.new_tokens * vocab);
  const ids: number[] = [];
  try {
    const steps = decodeTokens(sessions, await embedIds(sessions, prompt), {
      maxNewTokens: meta.new_tokens,
      pick: (row) => {
        logits.set(row, ids.length * vocab);
        return argmax(row);
      },
    });
    for await (const id of steps) ids.push(id);
  } finally {
    await releaseDecoderSessions(sessions);
    lm.checkpoint.close();
  }
  const wrong =
    ids.filter((id, i) => id !== expectedIds[i]).length + Math.abs(ids.length - expectedIds.length);
  return [
    measure(`wrong_tokens(of ${expectedIds.length})`, wrong, 1),
    measure(
      'step_logits',
      maxRelative({ dtype: 'float32', dims: [meta.new_tokens, vocab], data: logits }, expectedLogits),
      tolerances.activations,
    ),
  ];
};

export const inferenceCaseRunners: Record<string, CaseRunner> = { lm_generate: runGenerateCase };
