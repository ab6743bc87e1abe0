// The frozen models of the proof, written as Hugging Face checkpoint folders the services load like
// any other: a random CLIP-shaped vision tower and a random Whisper-shaped audio encoder (both
// seeded by the run), and the tiny LM, pretrained with the engine on text-only scenes and clips
// from the task's generator, then frozen. The LM plays the part a hub checkpoint plays for real
// runs: its corpus has a seed of its own, so one LM serves every seed, and it never sees a run's
// pictures, clips or features. The text-only scenes draw from every combination (each colour-shape
// pair, each colour and shape at each place), as a real LM's text has seen "orange circle"
// somewhere: what is held out is the pictures and clips the projectors learn from, never the words.
// The pretrained LM is found by a key of everything that decides it (sizes, schedule, corpus):
// first under MMIT_CACHE_DIR (default ~/.cache/mmit)/proof-lm/<key>, then in the repository
// (examples/shapes/pretrained-lm, made with PROOF_DEFAULTS' settings, see its README); when
// neither has it, it is pretrained in the run and cached.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizer } from '@mmit/models';
import { briefPool } from '@mmit/synth';
import { writeRandomClipVision, writeRandomWhisperEncoder } from './encoders.js';
import { planTask, type TaskPlan } from './generate.js';
import { encodeForPretraining, pretrainExamples, slotWordsOf } from './lm-corpus.js';
import { pretrainTinyLm } from './lm-pretrain.js';
import { FORMAT_PROMPT } from './questions.js';
import { ITEM_KINDS, PROOF_DEFAULTS } from './task.js';
import { type TinyLmSizes, writeTinyLmCheckpoint } from './tiny-lm.js';
import { words, wordVocabulary, writeWordTokenizer } from './word-tokenizer.js';

/** How the tiny LM is pretrained (every run of the proof takes these; defaults in PROOF_DEFAULTS). */
export interface LmPretraining {
  /** Full-weight pretraining steps of the LM, its peak learning rate and batch size. */
  lmSteps: number;
  lmLr: number;
  lmBatchSize: number;
  /** Text-only scenes the LM reads (and a quarter as many clips). */
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
  /** Where the pretrained LM came from. */
  lmFrom: LmSource;
}

export type LmSource = 'this run' | 'the cache' | 'the repository';

/** The seed of the LM's text-only corpus and of its initial weights: one LM serves every run. */
export const LM_CORPUS_SEED = 20_261_126;

/** The LM pretrained with PROOF_DEFAULTS' settings, shipped with the repository (see its README). */
export const SHIPPED_LM_DIR = fileURLToPath(new URL('../pretrained-lm', import.meta.url));

/**
 * The LM's corpus: text-only scenes (and a quarter as many clips) from the task's generator with
 * a seed of its own, so it does not depend on a run's seed or its training split. A quarter as
 * many clips: measured with ideal rows, the LM reads beeps and pitch exactly (1.00) within 750
 * steps at half the pretraining, while the picture lookups were still rising at 3,000; clips
 * are also the longer sequences (25 rows against 9).
 */
export function lmCorpus(lmScenes: number) {
  const textPlan = planTask({
    seed: LM_CORPUS_SEED,
    train: lmScenes,
    test: 0,
    fixedHeldOut: { combinations: [], patterns: [] },
  });
  const clips = new Set(
    textPlan.items.filter((item) => item.kind === 'audio').slice(0, Math.ceil(lmScenes / 4)),
  );
  const items = textPlan.items.filter((item) => item.kind === 'image' || clips.has(item));
  const examples = pretrainExamples({ ...textPlan, items });
  // Every word the corpus says, the slot rows' words, every brief instruction synth may pick and
  // the format prompt.
  const vocabulary = wordVocabulary([
    ...items.flatMap((item) => slotWordsOf(item).map((row) => row.join(' '))),
    ...examples.flatMap((e) => [e.question.question, e.question.answer]),
    ...ITEM_KINDS.flatMap((kind) => briefPool(kind)),
    FORMAT_PROMPT,
  ]);
  return { examples, vocabulary };
}

/** The LM's corpus, sizes and schedule for these settings, and the key that names the result. */
export function lmPlan(options: LmPretraining) {
  const { examples, vocabulary } = lmCorpus(options.lmScenes);
  const sizes = { ...PROOF_LM_SIZES, vocabSize: vocabulary.length };
  const schedule = {
    steps: options.lmSteps,
    lr: options.lmLr,
    batch: options.lmBatchSize,
    seed: LM_CORPUS_SEED,
    noise: options.lmNoise,
  };
  const key = createHash('sha256')
    .update(
      JSON.stringify({
        format: 5,
        sizes,
        schedule,
        vocabulary,
        examples: examples.map((e) => [e.item.name, e.sample, e.question, slotWordsOf(e.item)]),
      }),
    )
    .digest('hex')
    .slice(0, 16);
  return { examples, vocabulary, sizes, schedule, key };
}

/** Every word a run will show the LM: its items' rows and captions, every question and answer. */
function runWords(plan: TaskPlan): Set<string> {
  return new Set(
    [
      ...plan.items.flatMap((item) => [...slotWordsOf(item).map((row) => row.join(' ')), ...item.captions]),
      ...pretrainExamples(plan).flatMap((e) => [e.question.question, e.question.answer]),
      ...[...plan.questions.train, ...plan.questions.test].flatMap((q) => [q.question, q.answer]),
    ].flatMap(words),
  );
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

  const { examples, vocabulary, sizes, schedule, key } = lmPlan(options);
  const known = new Set(vocabulary);
  const unknown = [...runWords(plan)].filter((w) => !known.has(w));
  if (unknown.length > 0) {
    throw new Error(
      `the LM's corpus (${options.lmScenes} scenes) never says ${unknown.map((w) => `'${w}'`).join(', ')}, which this run needs: raise --lm-scenes`,
    );
  }
  for (const [from, dir] of [
    ['the cache', join(proofCacheDir(), key)],
    ['the repository', SHIPPED_LM_DIR],
  ] as const) {
    if (!existsSync(join(dir, 'losses.json')) || readKey(dir) !== key) continue;
    cpSync(dir, dirs.lm, { recursive: true });
    log(`the pretrained LM comes from ${from} (${dir})`);
    const lmLosses = JSON.parse(readFileSync(join(dir, 'losses.json'), 'utf8')) as number[];
    return { ...dirs, lmLosses, lmFrom: from };
  }
  writeWordTokenizer(dirs.lm, vocabulary);
  const tokenizer = loadTokenizer(dirs.lm);
  const tokens = { eosTokenId: tokenizer.eosTokenId ?? 2, padTokenId: tokenizer.padTokenId ?? 5 };
  const sequences = examples.map((e) => encodeForPretraining(tokenizer, e, false));
  log(`pretraining the tiny LM: ${vocabulary.length} words, ${sequences.length} sequences, full weights`);
  const started = Date.now();
  const pretrained = await pretrainTinyLm({
    sizes,
    tokens,
    sequences,
    steps: options.lmSteps,
    batchSize: options.lmBatchSize,
    lr: options.lmLr,
    seed: LM_CORPUS_SEED,
    slotNoise: options.lmNoise,
    onStep: (step, loss) => {
      if (step % 100 === 0 || step === options.lmSteps)
        log(`  LM step ${step}/${options.lmSteps}: loss ${loss.toFixed(3)}`);
    },
  });
  const seconds = (Date.now() - started) / 1000;
  writeTinyLmCheckpoint(dirs.lm, sizes, tokens, pretrained.weights, {
    'mmit.stage': 'pretrained on the task text with full-weight gradients, frozen',
  });
  writeFileSync(join(dirs.lm, 'losses.json'), JSON.stringify(pretrained.losses));
  writeFileSync(
    join(dirs.lm, 'pretraining.json'),
    `${JSON.stringify({ key, ...schedule, scenes: options.lmScenes, sequences: sequences.length, seconds }, null, 2)}\n`,
  );
  const cached = join(proofCacheDir(), key);
  mkdirSync(proofCacheDir(), { recursive: true });
  cpSync(dirs.lm, cached, { recursive: true });
  return { ...dirs, lmLosses: pretrained.losses, lmFrom: 'this run' };
}

/** The key a pretrained LM folder was made for (its pretraining.json), or undefined. */
function readKey(dir: string): string | undefined {
  const file = join(dir, 'pretraining.json');
  if (!existsSync(file)) return undefined;
  return (JSON.parse(readFileSync(file, 'utf8')) as { key?: string }).key;
}
