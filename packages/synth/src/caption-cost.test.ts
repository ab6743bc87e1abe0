// Synthesis must cost time in proportion to caption length. A caption eight times longer may take
// about eight times the CPU, never sixty-four: each shape below once hit a step whose cost grew
// with the square of the length (a 500 KB caption pinned the service for good). This is a scaling
// check, not a speed claim: both sizes run in the same process a moment apart, the CPU time of
// this process is compared (other processes' load hardly moves it), the best of three runs is
// taken, and the bound (24x for 8x the text) sits three times above linear and well below the
// 64x a quadratic step gives. Measured with the fix: 7-10x; bench/synth/caption-cost.ts prints it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MAX_CAPTION_CHARS, RecipeSchema } from '@mmit/contracts';
import { TemplateGenerator } from './generators/template/index.js';
import { MAX_TOKEN_CHARS, tag } from './nlp/analyze.js';
import { extractFacts } from './nlp/facts.js';
import { synthesize } from './synthesizer.js';
import { item } from './testing/items.js';
import { LONG_CAPTION_SHAPES } from './testing/long-captions.js';

const recipe = RecipeSchema.parse({
  kinds: { brief: {}, detailed: {}, conversation: {}, reasoning: {}, vqa: {} },
});

/** CPU milliseconds (user + system) of `work`, the best of `runs` runs. */
async function cpuMs(work: () => unknown, runs: number): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < runs; run++) {
    const before = process.cpuUsage();
    await work();
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return best;
}

/**
 * For each shape, the CPU at `chars` and at `factor` times that; returns the shapes whose cost
 * grew more than three times faster than the text (each ratio is also printed).
 */
async function superlinear(
  t: { diagnostic(message: string): void },
  work: (caption: string) => unknown,
  chars: number,
  factor: number,
  runs: number,
): Promise<string[]> {
  const failures: string[] = [];
  for (const [shape, caption] of Object.entries(LONG_CAPTION_SHAPES)) {
    const small = await cpuMs(() => work(caption(chars)), runs);
    const large = await cpuMs(() => work(caption(factor * chars)), runs);
    // A floor of 5 ms keeps a near-instant small run from inflating the ratio.
    const ratio = large / Math.max(small, 5);
    const line = `${shape}: ${small.toFixed(0)} ms -> ${large.toFixed(0)} ms (${ratio.toFixed(1)}x)`;
    t.diagnostic(line);
    if (ratio > 3 * factor) failures.push(line);
    await new Promise((resolve) => setImmediate(resolve)); // let the test runner's timer fire
  }
  return failures;
}

test('no token longer than MAX_TOKEN_CHARS reaches the tagger, whatever the caption', () => {
  for (const [shape, caption] of Object.entries(LONG_CAPTION_SHAPES)) {
    const longest = Math.max(...tag(caption(20_000)).map((t) => t.text.length));
    assert.ok(longest <= MAX_TOKEN_CHARS, `${shape}: a ${longest}-character token reached wink`);
  }
  // Real words pass untouched.
  assert.deepEqual(
    tag('A red star.').map((t) => t.text),
    ['A', 'red', 'star', '.'],
  );
});

test('synthesis CPU grows linearly from a caption at the ingest limit to one 8x past it', {
  timeout: 120_000,
}, async (t) => {
  const synthesizeTwo = (caption: string) =>
    // Two items, so the second is filtered against what the first left in the filters' memory.
    synthesize([item(0, [caption]), item(1, [`${caption} x`])], {
      recipe,
      generator: new TemplateGenerator(),
    });
  await synthesizeTwo('Warm up: load the tagger model once.');
  const failures = await superlinear(t, synthesizeTwo, DEFAULT_MAX_CAPTION_CHARS, 8, 3);
  assert.deepEqual(failures, [], 'superlinear shapes (8x the text):');
});

test('reading facts stays linear far past the limit (a stored caption may predate it)', {
  timeout: 120_000,
}, async (t) => {
  // 16x, from twice the limit: the per-phrase searches this guards were cheap per step, so their
  // square only shows at sizes like these.
  const failures = await superlinear(
    t,
    (caption) => extractFacts([caption]),
    2 * DEFAULT_MAX_CAPTION_CHARS,
    16,
    2,
  );
  assert.deepEqual(failures, [], 'superlinear shapes (16x the text):');
});
