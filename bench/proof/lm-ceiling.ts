// Where the learning proof loses its accuracy: the frozen LM, or the projector?
//   npx tsx bench/proof/lm-ceiling.ts --work-dir data/shapes/seed-1-XXXXXX [--seed 1 --train 200 --test 40]
// Reads the checkpoints a `mmit bench shapes` run wrote (models/lm, models/vision, models/audio),
// plans the same task again (the plan is a pure function of seed and sizes) and answers every
// held-out test question three ways, per question type:
//   ideal     the exact slot rows (slots.ts) where the media goes: the LM's ceiling; no projector
//             can do better than an LM that reads ideal rows
//   fitted    the rows a linear map from the encoder's features gives, fitted by ridge least
//             squares on the training split's features against their ideal rows: what a
//             projector could reach from these features (R^2 on the test split beside it)
//   (the run's own numbers, the trained projector through the services, are in its output)
// If fitted is close to ideal and ideal is low, the LM is what limits the run.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  accuracyByType,
  answerWithRows,
  audioFeatures,
  chanceByType,
  type FeatureMatrix,
  featureRows,
  type ItemKind,
  imageFeatures,
  MEDIA_TOKEN,
  type PlannedItem,
  PROOF_DEFAULTS,
  planTask,
  QUESTION_TYPES,
  renderItem,
  slotWordsOf,
  vqaPrompt,
} from '../../examples/shapes/src/index.js';
import {
  languageModelFromCheckpoint,
  loadTokenizer,
  openCheckpointFolder,
} from '../../packages/models/src/index.js';
import { readSafetensors } from '../../packages/tensor/src/index.js';

const { values } = parseArgs({
  options: {
    'work-dir': { type: 'string' },
    seed: { type: 'string', default: '1' },
    train: { type: 'string', default: String(PROOF_DEFAULTS.train) },
    test: { type: 'string', default: String(PROOF_DEFAULTS.test) },
    ridge: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
if (!values['work-dir'])
  throw new Error('--work-dir <the folder a `mmit bench shapes` run wrote> is required');
const models = join(values['work-dir'], 'models');
const plan = planTask({ seed: Number(values.seed), train: Number(values.train), test: Number(values.test) });
const lm = languageModelFromCheckpoint(openCheckpointFolder(join(models, 'lm')));
const tokenizer = loadTokenizer(join(models, 'lm'));
const d = lm.config.hiddenSize;
const table = readSafetensors(join(models, 'lm', 'model.safetensors')).tensors['model.embed_tokens.weight']
  .data as Float32Array;

/** The item's slot rows in LM space: each row the sum of its words' embeddings. (tokens, d) */
function idealRows(item: PlannedItem): Float64Array[] {
  return slotWordsOf(item).map((words) => {
    const row = new Float64Array(d);
    for (const w of words) {
      const id = tokenizer.tokenId(w);
      for (let i = 0; i < d; i++) row[i] += table[id * d + i];
    }
    return row;
  });
}

/** Ridge least squares with a bias column: W (F + 1, d) minimising |XW - Y|^2 + ridge |W|^2. */
function fitLinear(xs: Float32Array[], ys: Float64Array[], width: number, ridge: number): Float64Array {
  const p = width + 1;
  const a = new Float64Array(p * p);
  const b = new Float64Array(p * d);
  xs.forEach((x, n) => {
    const row = [...x, 1];
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < p; j++) a[i * p + j] += row[i] * row[j];
      for (let k = 0; k < d; k++) b[i * d + k] += row[i] * ys[n][k];
    }
  });
  for (let i = 0; i < p; i++) a[i * p + i] += ridge;
  // Gauss-Jordan with partial pivoting on [a | b].
  for (let c = 0; c < p; c++) {
    let pivot = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(a[r * p + c]) > Math.abs(a[pivot * p + c])) pivot = r;
    for (const [m, w] of [
      [a, p],
      [b, d],
    ] as const) {
      for (let j = 0; j < w; j++) [m[c * w + j], m[pivot * w + j]] = [m[pivot * w + j], m[c * w + j]];
    }
    const inv = 1 / a[c * p + c];
    for (let j = 0; j < p; j++) a[c * p + j] *= inv;
    for (let k = 0; k < d; k++) b[c * d + k] *= inv;
    for (let r = 0; r < p; r++) {
      const f = a[r * p + c];
      if (r === c || f === 0) continue;
      for (let j = 0; j < p; j++) a[r * p + j] -= f * a[c * p + j];
      for (let k = 0; k < d; k++) b[r * d + k] -= f * b[c * d + k];
    }
  }
  return b;
}

function applyLinear(w: Float64Array, x: Float32Array, width: number): Float64Array {
  const out = new Float64Array(d);
  for (let i = 0; i <= width; i++) {
    const xi = i < width ? x[i] : 1;
    for (let k = 0; k < d; k++) out[k] += xi * w[i * d + k];
  }
  return out;
}

const rowsOf = (m: FeatureMatrix, n: number) =>
  Array.from({ length: m.tokens }, (_, t) => featureRows(m, n).subarray(t * m.dim, (t + 1) * m.dim));

const report: Record<string, unknown> = {};
for (const kind of ['image', 'audio'] as ItemKind[]) {
  const items = plan.items.filter((item) => item.kind === kind);
  const rendered = await Promise.all(items.map((item) => renderItem(item, plan.items.indexOf(item))));
  const bytes = rendered.map((r) => r.bytes);
  const features =
    kind === 'image'
      ? await imageFeatures(join(models, 'vision'), bytes)
      : await audioFeatures(join(models, 'audio'), bytes);
  const train = items.flatMap((item, n) => (item.split === 'train' ? [n] : []));
  const w = fitLinear(
    train.flatMap((n) => rowsOf(features, n)),
    train.flatMap((n) => idealRows(items[n])),
    features.dim,
    Number(values.ridge),
  );
  let residual = 0;
  let total = 0;
  items.forEach((item, n) => {
    if (item.split !== 'test') return;
    const ideal = idealRows(item);
    rowsOf(features, n).forEach((x, t) => {
      const fitted = applyLinear(w, x, features.dim);
      for (let k = 0; k < d; k++) {
        residual += (ideal[t][k] - fitted[k]) ** 2;
        total += ideal[t][k] ** 2;
      }
    });
  });
  const byName = new Map(items.filter((i) => i.split === 'test').map((i) => [i.name, items.indexOf(i)]));
  const questions = plan.questions.test.filter((q) => q.kind === kind);
  const asked = questions.map((q) => ({ item: byName.get(q.file)!, prompt: vqaPrompt(kind, q.question) }));
  const answer = (rows: (n: number) => Float64Array[]) =>
    answerWithRows({
      lm,
      tokenizer,
      mediaToken: MEDIA_TOKEN[kind],
      questions: asked,
      rowsPerItem: features.tokens,
      rows: async (chosen) => Float32Array.from(chosen.flatMap((n) => rows(n).flatMap((r) => [...r]))),
    });
  const ideal = accuracyByType(questions, await answer((n) => idealRows(items[n])));
  const fitted = accuracyByType(
    questions,
    await answer((n) => rowsOf(features, n).map((x) => applyLinear(w, x, features.dim))),
  );
  report[kind] = { ideal, fitted, r2: 1 - residual / total, chance: chanceByType(questions) };
}

if (values.json) console.log(JSON.stringify(report));
else {
  const pct = (v: number) => (Number.isNaN(v) ? '' : `${(v * 100).toFixed(0)}%`.padStart(7));
  console.log(`${'type'.padEnd(9)} ${'ideal'.padStart(7)} ${'fitted'.padStart(7)} ${'chance'.padStart(7)}`);
  for (const kind of ['image', 'audio'] as const) {
    const r = report[kind] as {
      ideal: Record<string, number>;
      fitted: Record<string, number>;
      chance: Record<string, number>;
      r2: number;
    };
    for (const t of QUESTION_TYPES) {
      if (Number.isNaN(r.ideal[t])) continue;
      console.log(`${t.padEnd(9)} ${pct(r.ideal[t])} ${pct(r.fitted[t])} ${pct(r.chance[t])}`);
    }
    console.log(`  ${kind}: the linear map's R^2 on the test split ${r.r2.toFixed(3)}`);
  }
}
