// What a proof run prints: the accuracy table beside chance and the targets, the loss curves as
// one-line sparklines, the total time, and which parts were trained (the LM is pretrained on the
// task's text and then frozen; the encoders are random and frozen; only projectors learn from media).
// `proofJson` is the `--json` object.
import type { EngineProofResult } from './engine-proof.js';
import { accuracyByType, type Scores } from './evaluate.js';
import type { HeldOutSummary } from './generate.js';
import { ITEM_KINDS, QUESTION_TYPES } from './task.js';
import type { LmSource } from './task-models.js';

/** The issue's exact-match targets per question type. */
export const TARGETS: Scores = {
  colour: 0.9,
  shape: 0.85,
  count: 0.85,
  position: 0.8,
  beeps: 0.85,
  pitch: 0.85,
};

/** Every type asked meets its target (a type with no question, NaN, is not part of the run). */
export function meetsTargets(accuracy: Scores): boolean {
  return QUESTION_TYPES.every((t) => Number.isNaN(accuracy[t]) || accuracy[t] >= TARGETS[t]);
}

const BARS = '▁▂▃▄▅▆▇█';

/** Losses averaged into `width` buckets, drawn low to high. */
export function sparkline(values: number[], width = 48): string {
  if (values.length === 0) return '(none)';
  const buckets = Math.min(width, values.length);
  const means = Array.from({ length: buckets }, (_, b) => {
    const part = values.slice(
      Math.floor((b * values.length) / buckets),
      Math.floor(((b + 1) * values.length) / buckets),
    );
    return part.reduce((a, v) => a + v, 0) / part.length;
  });
  const [low, high] = [Math.min(...means), Math.max(...means)];
  return means.map((m) => BARS[Math.round(((m - low) / (high - low || 1)) * (BARS.length - 1))]).join('');
}

// Batches are bucketed by length, so one step's loss belongs to one kind of question: compare means.
const meanOf = (xs: number[]) => (xs.length === 0 ? Number.NaN : xs.reduce((a, v) => a + v, 0) / xs.length);

const pct = (v: number) => (Number.isNaN(v) ? '-' : `${(v * 100).toFixed(1)}%`);

function lmOrigin(from: LmSource): string {
  return from === 'this run' ? 'in this run' : `earlier, from ${from}`;
}

/**
 * Accuracy on the two parts of the test split: questions about combinations no training item
 * holds (a colour or a shape at a held-out place, or held-out colour-shape pairs; pitch
 * patterns) and about unseen renders of seen ones.
 */
export function accuracyByPart(answers: EngineProofResult['answers']) {
  const part = (novel: boolean) => {
    const chosen = answers.filter((a) => a.question.novel === novel);
    return accuracyByType(
      chosen.map((a) => a.question),
      chosen.map((a) => a.got),
    );
  };
  return { heldOutCombinations: part(true), unseenRenders: part(false) };
}

/** "red at top left, star at center (places); high low high (pitch patterns)" */
function heldOutLine(h: HeldOutSummary): string {
  const parts = [
    ...(h.combinations.length ? [`${h.combinations.join(', ')} (${h.kind})`] : []),
    ...(h.patterns.length ? [`${h.patterns.join(', ')} (pitch patterns)`] : []),
  ];
  return parts.join('; ') || 'none';
}

export function formatProofReport(result: EngineProofResult): string {
  const parts = accuracyByPart(result.answers);
  const rows = QUESTION_TYPES.map((t) => {
    const ok = Number.isNaN(result.accuracy[t])
      ? 'not asked'
      : result.accuracy[t] >= TARGETS[t]
        ? 'pass'
        : 'FAIL';
    const seen = result.seenAccuracy ? `  ${pct(result.seenAccuracy[t]).padStart(7)}` : '';
    const byPart = `  ${pct(parts.heldOutCombinations[t]).padStart(8)}  ${pct(parts.unseenRenders[t]).padStart(8)}`;
    return `  ${t.padEnd(9)} ${pct(result.accuracy[t]).padStart(7)}  ${pct(result.chance[t]).padStart(7)}  ${pct(TARGETS[t]).padStart(7)}${byPart}${seen}  ${ok}`;
  });
  const curve = (name: string, losses: number[]) =>
    `  ${name.padEnd(18)} ${sparkline(losses)}  ${meanOf(losses.slice(0, 20)).toFixed(3)} -> ${meanOf(losses.slice(-20)).toFixed(3)} (${losses.length} steps; means of the first and last 20)`;
  return [
    'held-out test questions, exact match:',
    `  ${'type'.padEnd(9)} ${'accuracy'.padStart(7)}  ${'chance'.padStart(7)}  ${'target'.padStart(7)}  ${'held-out'.padStart(8)}  ${'renders'.padStart(8)}${result.seenAccuracy ? `  ${'seen'.padStart(7)}` : ''}`,
    ...rows,
    `  (held-out: questions about combinations no training item holds: ${heldOutLine(result.heldOut)};`,
    '   renders: unseen pictures and clips of combinations training saw)',
    ...(result.seenAccuracy
      ? ["  (seen: the same question types about training items, the projector's fit)"]
      : []),
    '',
    'training loss:',
    curve('LM (full weights)', result.lmLosses),
    ...ITEM_KINDS.flatMap((kind) => {
      const losses = result.projectorLosses[kind];
      return losses ? [curve(`${kind} projector`, losses)] : [];
    }),
    '',
    `LM: pretrained on the task's text with full-weight gradients (${result.lmLosses.length} steps; ${lmOrigin(result.lmFrom)}), then frozen; encoders: random weights, frozen; projectors: trained.`,
    `total ${result.seconds.toFixed(1)} s; ${meetsTargets(result.accuracy) ? 'all targets met' : 'targets NOT met'}`,
  ].join('\n');
}

export function proofJson(result: EngineProofResult) {
  return {
    heldOut: result.heldOut,
    accuracy: result.accuracy,
    chance: result.chance,
    accuracyByPart: accuracyByPart(result.answers),
    ...(result.seenAccuracy ? { seenAccuracy: result.seenAccuracy } : {}),
    targets: TARGETS,
    passed: meetsTargets(result.accuracy),
    lm: `pretrained on task text (full weights, ${result.lmLosses.length} steps; ${lmOrigin(result.lmFrom)}), frozen`,
    loss: { lm: result.lmLosses, image: result.projectorLosses.image, audio: result.projectorLosses.audio },
    seconds: result.seconds,
  };
}
