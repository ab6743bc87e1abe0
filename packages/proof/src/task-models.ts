// The frozen models of the proof, written as Hugging Face checkpoint folders the services load like
// any other: a random CLIP-shaped vision tower, a random Whisper-shaped audio encoder, and the tiny
// LM, pretrained here with the engine on the training split's question text plus text-only scenes
// and clips from the same generator, then frozen. The text-only scenes draw from every
// colour-shape pair, as a real LM's text has seen "orange circle" somewhere: what is held out is
// the pictures and clips the projectors learn from, never the words.
// The pretrained LM is cached by everything that decides it (sizes, schedule, seed, text), under
// MMIT_CACHE_DIR (default ~/.cache/mmit)/proof-lm/, so reruns with other projector settings skip it.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '@mmit/models';
import { writeRandomClipVision, writeRandomWhisperEncoder } from './encoders.js';
import { planTask, type TaskPlan } from './generate.js';
import { encodeForPretraining, pretrainExamples, slotWordsOf } from './lm-corpus.js';
import { pretrainTinyLm } from './lm-pretrain.js';
import { FORMAT_PROMPT } from './questions.js';
import { ITEM_KINDS, type ItemKind, PROOF_DEFAULTS } from './task.js';
import { type TinyLmSizes, writeTinyLmCheckpoint } from './tiny-lm.js';
import { wordVocabulary, writeWordTokenizer } from './word-tokenizer.js';

/** How the tiny LM is pretrained (every run of the proof takes these; defaults in PROOF_DEFAULTS). */
export interface LmPretraining {
  /** Full-weight pretraining steps of the LM, its peak learning rate and batch size. */
  lmSteps: number;
  lmLr: number;
  lmBatchSize: number;
  /** Extra text-only scenes the LM reads besides the training split (and a quarter as many clips). */
  lmScenes: number;
  /** Noise added to the LM's slot rows while it is pretrained, as a fraction of its table's RMS. */
  lmNoise: number;
}

/** The LM settings among `options`, PROOF_DEFAULTS' for those not given. */
export function lmPretraining(options: Partial<LmPretraining>): LmPretraining {
  const d = PROOF_DEFAULTS;
  return {
    lmSteps: options.lmSteps ?? d.lmSteps,
    lmLr: options.lmLr ?? d.lmLr,
    lmBatchSize: options.lmBatchSize ?? d.lmBatchSize,
    lmScenes: options.lmScenes ?? d.lmScenes,
    lmNoise: options.lmNoise ?? d.lmNoise,
  };
}

export interface TaskModelOptions extends LmPretraining {
  /** Folder that receives lm/, vision/ and audio/. */
  workDir: string;
  /** The media kinds the run covers (default both): the LM is pretrained on their questions only. */
  kinds?: readonly ItemKind[];
  log?: (line: string) => void;
}

/** Three layers, eight heads: measured, two layers never learned to look a shape up by its colour. */
export const PROOF_LM_SIZES: Omit<TinyLmSizes, 'vocabSize'> = {
  hiddenSize: 128,
  intermediateSize: 256,
  numLayers: 3,
  numHeads: 8,
};

export function proofCacheDir(): string {
  return join(process.env.MMIT_CACHE_DIR ?? join(homedir(), '.cache', 'mmit'), 'proof-lm');
}

export interface TaskModels {
  lm: string;
  vision: string;
  audio: string;
  lmLosses: number[];
  lmSeconds: number;
  /** Whether the pretrained LM came from the cache. */
  lmCached: boolean;
}

export async function writeTaskModels(plan: TaskPlan, options: TaskModelOptions): Promise<TaskModels> {
  const log = options.log ?? (() => {});
  const dirs = {
    lm: join(options.workDir, 'lm'),
    vision: join(options.workDir, 'vision'),
    audio: join(options.workDir, 'audio'),
  };
  writeRandomClipVision(dirs.vision, plan.seed + 11);
  writeRandomWhisperEncoder(dirs.audio, plan.seed + 12);

  const textPlan = planTask({
    seed: plan.seed + 1_000_003,
    train: options.lmScenes,
    test: 0,
    heldOut: { pairs: [], patterns: [] },
  });
  // A quarter as many text-only clips as scenes: measured with ideal rows, the LM reads beeps and
  // pitch exactly (1.00) within 750 steps even at half the pretraining, while the picture lookups
  // were still rising at 3,000; clips are also the longer sequences (25 rows against 9).
  const textClips = new Set(
    textPlan.items.filter((item) => item.kind === 'audio').slice(0, Math.ceil(options.lmScenes / 4)),
  );
  const textItems = textPlan.items.filter((item) => item.kind === 'image' || textClips.has(item));
  const kinds = options.kinds ?? ITEM_KINDS;
  const examples = [...pretrainExamples(plan), ...pretrainExamples({ ...textPlan, items: textItems })].filter(
    (e) => kinds.includes(e.item.kind),
  );
  // Every word the task can say: slot rows, every question and answer (test ones too, so a test
  // question never meets an unknown word), the format prompt.
  const vocabulary = wordVocabulary([
    ...[...plan.items, ...textItems].flatMap((item) => slotWordsOf(item).map((row) => row.join(' '))),
    ...examples.flatMap((e) => [e.question.question, e.question.answer]),
    ...[...plan.questions.train, ...plan.questions.test].flatMap((q) => [q.question, q.answer]),
    FORMAT_PROMPT,
  ]);
  const sizes = { ...PROOF_LM_SIZES, vocabSize: vocabulary.length };
  const schedule = {
    steps: options.lmSteps,
    lr: options.lmLr,
    batch: options.lmBatchSize,
    seed: plan.seed,
    noise: options.lmNoise,
  };
  const key = createHash('sha256')
    .update(
      JSON.stringify({
        format: 3,
        sizes,
        schedule,
        vocabulary,
        examples: examples.map((e) => [e.item.name, e.question, slotWordsOf(e.item)]),
      }),
    )
    .digest('hex')
    .slice(0, 16);
  const cached = join(proofCacheDir(), key);
  if (existsSync(join(cached, 'losses.json'))) {
    cpSync(cached, dirs.lm, { recursive: true });
    log(`the pretrained LM comes from the cache (${cached})`);
    const lmLosses = JSON.parse(readFileSync(join(cached, 'losses.json'), 'utf8')) as number[];
    return { ...dirs, lmLosses, lmSeconds: 0, lmCached: true };
  }
  writeWordTokenizer(dirs.lm, vocabulary);
  const tokenizer = loadTokenizer(dirs.lm);
  const tokens = { eosTokenId: tokenizer.eosTokenId ?? 2, padTokenId: tokenizer.padTokenId ?? 5 };
  const sequences = examples.map((e) => encodeForPretraining(tokenizer, e, false));
  log(`pretraining the tiny LM: ${vocabulary.length} words, ${sequences.length} questions, full weights`);
  const started = Date.now();
  const pretrained = await pretrainTinyLm({
    sizes,
    tokens,
    sequences,
    steps: options.lmSteps,
    batchSize: options.lmBatchSize,
    lr: options.lmLr,
    seed: plan.seed,
    slotNoise: options.lmNoise,
    onStep: (step, loss) => {
      if (step % 100 === 0 || step === options.lmSteps)
        log(`  LM step ${step}/${options.lmSteps}: loss ${loss.toFixed(3)}`);
    },
  });
  writeTinyLmCheckpoint(dirs.lm, sizes, tokens, pretrained.weights, {
    'mmit.stage': 'pretrained on the task text with full-weight gradients, frozen',
  });
  writeFileSync(join(dirs.lm, 'losses.json'), JSON.stringify(pretrained.losses));
  mkdirSync(proofCacheDir(), { recursive: true });
  cpSync(dirs.lm, cached, { recursive: true });
  return { ...dirs, lmLosses: pretrained.losses, lmSeconds: (Date.now() - started) / 1000, lmCached: false };
}
