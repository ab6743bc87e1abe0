// Pretrains the learning proof's tiny LM with the given settings (PROOF_DEFAULTS' where none are
// given) and, with --ship, puts it where every default run finds it: examples/shapes/pretrained-lm.
//   npx tsx scripts/pretrain-proof-lm.ts --ship
//   npx tsx scripts/pretrain-proof-lm.ts --lm-steps 20000 --lm-noise 1.0
// An LM already in MMIT_CACHE_DIR under the settings' key is taken from there, not pretrained again.
// The shipped LM must be made again whenever its corpus, vocabulary, sizes or schedule change:
// examples/shapes/src/task-models.test.ts fails until it is.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type LmPretraining,
  lmPretraining,
  PROOF_DEFAULTS,
  planTask,
  SHIPPED_LM_DIR,
  sparkline,
  writeTaskModels,
} from '../examples/shapes/src/index.js';

const { values } = parseArgs({
  options: {
    'lm-steps': { type: 'string' },
    'lm-lr': { type: 'string' },
    'lm-batch': { type: 'string' },
    'lm-scenes': { type: 'string' },
    'lm-noise': { type: 'string' },
    ship: { type: 'boolean', default: false },
  },
});
const number = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const settings: LmPretraining = lmPretraining({
  lmSteps: number(values['lm-steps']),
  lmLr: number(values['lm-lr']),
  lmBatchSize: number(values['lm-batch']),
  lmScenes: number(values['lm-scenes']),
  lmNoise: number(values['lm-noise']),
});
// writeTaskModels checks the LM's vocabulary against a run's words: a small plan of the task.
const plan = planTask({ seed: 1, train: PROOF_DEFAULTS.train, test: PROOF_DEFAULTS.test });
const workDir = mkdtempSync(join(tmpdir(), 'mmit-proof-lm-'));
const models = await writeTaskModels(plan, { workDir, ...settings, log: (line) => console.log(line) });
const losses = models.lmLosses;
console.log(
  `LM ${sparkline(losses)} ${losses[0].toFixed(3)} -> ${losses.at(-1)!.toFixed(3)} (${losses.length} steps)`,
);
if (values.ship) {
  rmSync(SHIPPED_LM_DIR, { recursive: true, force: true });
  cpSync(models.lm, SHIPPED_LM_DIR, { recursive: true });
  writeFileSync(join(SHIPPED_LM_DIR, 'README.md'), shippedReadme(settings, losses));
  console.log(`shipped to ${SHIPPED_LM_DIR}`);
}
rmSync(workDir, { recursive: true, force: true });

function shippedReadme(lm: LmPretraining, curve: number[]): string {
  const record = JSON.parse(readFileSync(join(SHIPPED_LM_DIR, 'pretraining.json'), 'utf8')) as {
    key: string;
    sequences: number;
    seconds: number;
  };
  const mean = (xs: number[]) => xs.reduce((a, v) => a + v, 0) / xs.length;
  return `# The learning proof's tiny LM (shipped)

The frozen language model of \`mmit bench shapes\` (the README's main job), in Hugging Face's
checkpoint layout: a Llama config (d 128, 3 layers, 8 heads), a word-level \`tokenizer.json\`, a
ChatML template. It plays the part a hub checkpoint plays in a real run: pretrained once with
mmit's own engine (full-weight gradients, AdamW) on text-only scenes and clips of the task, whose
picture and clip positions hold slot rows (examples/shapes/src/slots.ts), then frozen. Its corpus
has a seed of its own: one LM serves every seed, and it never sees a run's pictures, clips or
features.

Made by \`npx tsx scripts/pretrain-proof-lm.ts --ship\` with PROOF_DEFAULTS' settings:
${lm.lmSteps} steps of ${lm.lmBatchSize} sequences (${record.sequences} sequences from ${lm.lmScenes} scenes and
${Math.ceil(lm.lmScenes / 4)} clips), peak learning rate ${lm.lmLr}, slot noise ${lm.lmNoise} of the embedding
table's RMS; ${(record.seconds / 60).toFixed(1)} minutes on 2 CPU cores. Loss: mean of the first 100 steps
${mean(curve.slice(0, 100)).toFixed(3)}, of the last 100 ${mean(curve.slice(-100)).toFixed(3)} (every step in \`losses.json\`).

A run finds this LM by its key (\`${record.key}\`, in \`pretraining.json\`), computed from
everything that decides it: corpus, vocabulary, sizes and schedule. When the code changes any of
them, \`examples/shapes/src/task-models.test.ts\` fails until the LM is made again with the
command above.
`;
}
