// Template generator throughput: samples per second on 10,000 generated captions (images and
// audio, all four kinds, filters on), against a baseline measured in the same run: the raw
// wink-nlp part-of-speech parse of the same captions. The ratio says how much the whole pipeline
// (facts, generation, filters, records) costs per caption in units of one parse.
//
//   npx tsx bench/synth/template.ts [captions=10000]
import {
  createRng,
  RecipeSchema,
  type SourceItem,
  Synthesizer,
  TemplateGenerator,
  tag,
} from '../../packages/synth/src/index.js';

const N = Number(process.argv[2] ?? 10_000);
const rng = createRng('bench-synth');
const COLOURS = ['red', 'blue', 'green', 'yellow', 'purple', 'orange', 'brown', 'white', 'black', 'grey'];
const THINGS = [
  'dog',
  'cat',
  'horse',
  'car',
  'bicycle',
  'chair',
  'table',
  'lamp',
  'ball',
  'kite',
  'boat',
  'bird',
];
const PLACES = [
  'at the top left',
  'at the top right',
  'in the center',
  'at the bottom left',
  'at the bottom right',
  'on the beach',
  'near the window',
];
const ACTIONS = [
  'is running across a field',
  'is sleeping on a sofa',
  'is riding a wave',
  'is parked by the road',
];
const SOUNDS = ['beep', 'bark', 'knock', 'whistle', 'chime', 'horn'];
const QUALITIES = ['low', 'high', 'short', 'long', 'loud', 'soft'];
const NUMBERS = ['two', 'three', 'four'];

function imageCaption(): string {
  const a = `${rng.pick(COLOURS)} ${rng.pick(THINGS)}`;
  const b = `${rng.pick(COLOURS)} ${rng.pick(THINGS)}`;
  switch (rng.int(4)) {
    case 0:
      return `A ${a} ${rng.pick(PLACES)} and a ${b} ${rng.pick(PLACES)} on a ${rng.pick(COLOURS)} background.`;
    case 1:
      return `A ${a} ${rng.pick(ACTIONS)}.`;
    case 2:
      return `${rng.pick(NUMBERS)} ${rng.pick(THINGS)}s ${rng.pick(PLACES)} next to a ${b}.`.replace(
        /^./,
        (c) => c.toUpperCase(),
      );
    default:
      return `A photo of a ${a} beside a ${b}.`;
  }
}

function audioCaption(): string {
  const s = () => `a ${rng.pick(QUALITIES)} ${rng.pick(SOUNDS)}`;
  return rng.chance(0.5)
    ? `${s()}, then ${s()}, then ${s()}.`.replace(/^./, (c) => c.toUpperCase())
    : `${rng.pick(NUMBERS)} ${rng.pick(QUALITIES)} ${rng.pick(SOUNDS)}s in silence.`.replace(/^./, (c) =>
        c.toUpperCase(),
      );
}

// 10,000 captions over 5,000 items (two captions each), 80% images.
const items: SourceItem[] = [];
for (let i = 0; items.length * 2 < N; i++) {
  const modality = rng.chance(0.8) ? 'image' : 'audio';
  const make = modality === 'image' ? imageCaption : audioCaption;
  const id = `i_${String(i).padStart(22, '0')}`;
  items.push({
    index: i,
    id,
    source: `bench-${i}`,
    modality,
    captions: [make(), make()],
    boxes: [],
    mediaGroup: id,
  });
}
const captions = items.flatMap((i) => i.captions);

// Warm both paths (JIT, model load) on a small slice first.
for (const c of captions.slice(0, 200)) tag(c);
const recipe = RecipeSchema.parse({ kinds: { brief: {}, detailed: {}, conversation: {}, reasoning: {} } });
await new Synthesizer({ recipe, generator: new TemplateGenerator() }).processBatch(items.slice(0, 100));

let t0 = performance.now();
for (const c of captions) tag(c);
const parseSec = (performance.now() - t0) / 1000;

const synth = new Synthesizer({ recipe, generator: new TemplateGenerator() });
let samples = 0;
t0 = performance.now();
for (let i = 0; i < items.length; i += 1000)
  samples += (await synth.processBatch(items.slice(i, i + 1000))).samples.length;
const pipelineSec = (performance.now() - t0) / 1000;

const fmt = (n: number) => n.toFixed(0).padStart(8);
console.log(`captions: ${captions.length} (${items.length} items, 4 kinds each)`);
console.log(
  `baseline  wink-nlp parse        ${fmt(captions.length / parseSec)} captions/s  (${parseSec.toFixed(2)} s)`,
);
console.log(
  `pipeline  template + filters    ${fmt(samples / pipelineSec)} samples/s   (${samples} samples, ${pipelineSec.toFixed(2)} s)`,
);
console.log(`          per caption           ${fmt(captions.length / pipelineSec)} captions/s`);
console.log(`ratio     pipeline / parse time ${(pipelineSec / parseSec).toFixed(2)}x (per caption)`);
