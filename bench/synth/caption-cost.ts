// How synthesis cost grows with caption length, per caption shape (each shape once exposed a
// step whose cost grew with the square of the length; see packages/synth/src/testing/
// long-captions.ts). For each shape: CPU ms to synthesize two items (all five kinds) at 1x, 4x
// and 16x the ingest caption limit, and the growth per 4x of text (linear: about 4; quadratic:
// about 16), beside the same numbers for plain prose measured in the same run.
//
//   npx tsx bench/synth/caption-cost.ts [--max-factor 16]
import { parseArgs } from 'node:util';
import { DEFAULT_MAX_CAPTION_CHARS, RecipeSchema } from '../../packages/contracts/src/index.js';
import { synthesize, TemplateGenerator } from '../../packages/synth/src/index.js';
import { item } from '../../packages/synth/src/testing/items.js';
import { LONG_CAPTION_SHAPES } from '../../packages/synth/src/testing/long-captions.js';

const { values: args } = parseArgs({ options: { 'max-factor': { type: 'string', default: '16' } } });
const factors = [1, 4, 16, 64].filter((f) => f <= Number(args['max-factor']));
const recipe = RecipeSchema.parse({
  kinds: { brief: {}, detailed: {}, conversation: {}, reasoning: {}, vqa: {} },
});

async function cpuMs(caption: string): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 3; run++) {
    const before = process.cpuUsage();
    await synthesize([item(0, [caption]), item(1, [`${caption} x`])], {
      recipe,
      generator: new TemplateGenerator(),
    });
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return best;
}

await cpuMs('Warm up the tagger.');
console.log(
  `synthesis CPU (ms, best of 3) at ${factors.map((f) => `${f}x`).join(', ')} the caption limit (${DEFAULT_MAX_CAPTION_CHARS} characters)`,
);
const growthOf = (ms: number[]) => ms.slice(1).map((m, i) => (m / Math.max(ms[i], 1)).toFixed(1));
let prose: string[] = [];
for (const [shape, caption] of Object.entries(LONG_CAPTION_SHAPES)) {
  const ms: number[] = [];
  for (const f of factors) ms.push(await cpuMs(caption(f * DEFAULT_MAX_CAPTION_CHARS)));
  const growth = growthOf(ms);
  if (shape === 'prose') prose = growth;
  console.log(
    `  ${shape.padEnd(18)} ${ms.map((m) => m.toFixed(0).padStart(6)).join(' ')}   growth per 4x: ${growth.join(', ')}   (prose: ${prose.join(', ')})`,
  );
}
