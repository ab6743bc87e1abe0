// Case runners for the language-model side of a golden-case folder (layout of
// shared/fixtures/hf-tiny): tokenizer, LM forward, LLaVA projector step, LLaVA projector training.
// Everything is read from the case's metadata and the checkpoint's config (model folder, image
// token id, projector type, optimizer settings, sizes), so other sizes and shapes work unchanged.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSession, type HostTensor, toNumbers } from '@mmit/tensor';
import { z } from 'zod';
import { AdamW, adamWOptionsSchema } from './adamw.js';
import { openCheckpointFolder } from './checkpoint.js';
import { arangePositions, asInt32 } from './feeds.js';
import { type LanguageModel, languageModelFromCheckpoint } from './language-model.js';
import { buildLlavaStepGraph, type LlavaBatch, llavaStepFeeds } from './llava-step.js';
import { buildForwardGraph } from './lm-graphs.js';
import { type ProjectorSpec, parseProjectorType, projectorParamDims } from './projector.js';
import { loadTokenizer } from './tokenizer.js';
import { towerFeatures } from './verify-encoders.js';
import {
  type CaseContext,
  type CaseRunner,
  type Measure,
  maskedRows,
  maxRelative,
  measure,
  normRelative,
  scalarRelative,
  tolerances,
} from './verify-measures.js';

function tensor(context: CaseContext, name: string): HostTensor {
  const t = context.tensors[name];
  if (!t)
    throw new Error(`case tensor '${name}' is missing; present: ${Object.keys(context.tensors).join(', ')}`);
  return t;
}

function openLm(context: CaseContext, key: 'model' | 'lm'): LanguageModel {
  const folder = z.string().parse(context.metadata[key]);
  return languageModelFromCheckpoint(openCheckpointFolder(join(context.dir, folder)));
}

const float32 = (t: HostTensor): Float32Array => Float32Array.from(toNumbers(t));

// ---- tokenizer ----------------------------------------------------------------------------------

const tokenizerCase = z.object({
  model: z.string(),
  texts: z.array(z.string()),
  ids: z.array(z.array(z.number().int())),
  chat: z.array(z.object({ role: z.string(), content: z.string() })),
  chat_rendered: z.string(),
  chat_ids: z.array(z.number().int()),
});

export const runTokenizerCase: CaseRunner = async (context) => {
  const c = tokenizerCase.parse(context.metadata);
  const tokenizer = loadTokenizer(join(context.dir, c.model));
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  const wrongTexts = c.texts.filter((text, i) => !same(tokenizer.encode(text), c.ids[i])).length;
  const rendered = tokenizer.renderChat(c.chat);
  return [
    measure(`texts_with_wrong_ids(of ${c.texts.length})`, wrongTexts, 1),
    measure('chat_rendered_differs', rendered === c.chat_rendered ? 0 : 1, 1),
    measure('chat_ids_differ', same(tokenizer.encode(c.chat_rendered), c.chat_ids) ? 0 : 1, 1),
  ];
};

// ---- LM forward ---------------------------------------------------------------------------------

export const runLmForwardCase: CaseRunner = async (context) => {
  const lm = openLm(context, 'model');
  const inputIds = tensor(context, 'input_ids');
  const mask = tensor(context, 'attention_mask');
  const [batch, length] = inputIds.dims;
  const session = await createSession(buildForwardGraph(lm, { input: 'ids', loss: true }), {
    ep: context.ep,
  });
  const out = await session.run({
    input_ids: asInt32(inputIds),
    attention_mask: asInt32(mask),
    position_ids: arangePositions(batch, length),
    labels: asInt32(tensor(context, 'labels')),
  });
  await session.release();
  lm.checkpoint.close();
  return [
    measure(
      'logits',
      maxRelative(out.logits, tensor(context, 'logits'), maskedRows(mask, lm.config.vocabSize)),
      tolerances.activations,
    ),
    measure(
      'loss',
      scalarRelative(toNumbers(out.loss)[0], toNumbers(tensor(context, 'loss'))[0]),
      tolerances.loss,
    ),
  ];
};

// ---- LLaVA projector step -----------------------------------------------------------------------

const llavaMetadata = z.object({
  lm: z.string(),
  image_token_id: z.number().int(),
  projector: z.string(),
});

function projectorSpec(context: CaseContext, lm: LanguageModel, features: HostTensor): ProjectorSpec {
  const meta = llavaMetadata.parse(context.metadata);
  return {
    type: parseProjectorType(meta.projector),
    inputDim: features.dims[2],
    outputDim: lm.config.hiddenSize,
  };
}

function startParams(context: CaseContext, spec: ProjectorSpec, prefix = ''): Record<string, Float32Array> {
  return Object.fromEntries(
    Object.keys(projectorParamDims(spec)).map((name) => [name, float32(tensor(context, `${prefix}${name}`))]),
  );
}

function caseBatch(context: CaseContext): LlavaBatch {
  return {
    features: context.features ?? tensor(context, 'features'),
    inputIds: tensor(context, 'input_ids'),
    attentionMask: tensor(context, 'attention_mask'),
    labels: tensor(context, 'labels'),
  };
}

export const runLlavaStepCase: CaseRunner = async (context) => {
  const lm = openLm(context, 'lm');
  const batch = caseBatch(context);
  const spec = projectorSpec(context, lm, batch.features);
  const imageTokenId = llavaMetadata.parse(context.metadata).image_token_id;
  const measures: Measure[] = [];
  // Both head modes must give the reference loss and gradients; 'all' also gives the logits.
  for (const head of ['all', 'labelled'] as const) {
    const step = buildLlavaStepGraph(lm, { projector: spec, imageTokenId, head });
    const session = await createSession(step.graph, { ep: context.ep });
    const out = await session.run(llavaStepFeeds(step, batch, startParams(context, spec)));
    await session.release();
    const tag = head === 'all' ? '' : '[labelled]';
    if (head === 'all') {
      const keep = maskedRows(batch.attentionMask, lm.config.vocabSize);
      measures.push(
        measure('logits', maxRelative(out.logits, tensor(context, 'logits'), keep), tolerances.activations),
      );
    }
    const loss = scalarRelative(toNumbers(out.loss)[0], toNumbers(tensor(context, 'loss'))[0]);
    measures.push(measure(`loss${tag}`, loss, tolerances.loss));
    for (const name of step.params) {
      const short = name.replace('projector.', '');
      const error = normRelative(out[`grad.${name}`], tensor(context, `grad.${name}`));
      measures.push(measure(`grad.${short}${tag}`, error, tolerances.gradient));
    }
  }
  lm.checkpoint.close();
  return measures;
};

// ---- LLaVA projector training (AdamW) -----------------------------------------------------------

const trainMetadata = llavaMetadata.extend({
  steps: z.number().int().positive(),
  optimizer: adamWOptionsSchema.passthrough(),
});

export const runLlavaTrainCase: CaseRunner = async (context) => {
  const meta = trainMetadata.parse(context.metadata);
  const lm = openLm(context, 'lm');
  const batch = caseBatch(context);
  const spec = projectorSpec(context, lm, batch.features);
  const step = buildLlavaStepGraph(lm, {
    projector: spec,
    imageTokenId: meta.image_token_id,
    head: 'labelled',
  });
  const session = await createSession(step.graph, { ep: context.ep });
  const optimizer = new AdamW(startParams(context, spec), meta.optimizer);
  const losses: number[] = [];
  for (let i = 0; i <= meta.steps; i++) {
    const out = await session.run(llavaStepFeeds(step, batch, optimizer.float32()));
    losses.push(toNumbers(out.loss)[0]);
    if (i < meta.steps) {
      optimizer.step(Object.fromEntries(step.params.map((name) => [name, toNumbers(out[`grad.${name}`])])));
    }
  }
  await session.release();
  lm.checkpoint.close();
  const expectedLosses = toNumbers(tensor(context, 'losses'));
  const trajectory = Math.max(...losses.map((l, i) => scalarRelative(l, expectedLosses[i])));
  const measures = [measure(`losses(max of ${losses.length})`, trajectory, tolerances.trajectory)];
  const final = optimizer.float32();
  for (const name of step.params) {
    const error = normRelative(final[name], tensor(context, `final.${name}`));
    measures.push(measure(`final.${name.replace('projector.', '')}`, error, tolerances.trainedParams));
  }
  return measures;
};

// ---- features from a vision tower (case_llava_*_clip) ------------------------------------------

/**
 * Features for a LLaVA case built from a vision tower: the tower's features for `pixel_values`,
 * plus any extra batch rows the case derives from them (`note2`: row 1 = patch order reversed),
 * checked against the stored `features`.
 */
export async function llavaFeaturesFromPixels(
  context: CaseContext,
): Promise<{ features: HostTensor; measures: Measure[] }> {
  const tower = await towerFeatures(context, tensor(context, 'pixel_values'));
  const stored = tensor(context, 'features');
  const [images, rows, width] = tower.dims;
  const batch = stored.dims[0];
  const towerData = toNumbers(tower);
  const data = new Float32Array(batch * rows * width);
  const reversed = /reversed/.test(String(context.metadata.note2 ?? ''));
  for (let b = 0; b < batch; b++) {
    const image = b % images;
    for (let r = 0; r < rows; r++) {
      const source = reversed && b >= images ? rows - 1 - r : r;
      data.set(
        towerData.subarray((image * rows + source) * width, (image * rows + source + 1) * width),
        (b * rows + r) * width,
      );
    }
  }
  const features: HostTensor = { dtype: 'float32', dims: [batch, rows, width], data };
  return { features, measures: [measure('features', maxRelative(features, stored), tolerances.activations)] };
}

/** Reads a JSON case file (the tokenizer case is JSON, not safetensors). */
export function readJsonCase(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}
