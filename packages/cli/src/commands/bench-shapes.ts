// `mmit bench shapes --seed S --train N --test M [--json]`: the proof that the pipeline learns,
// on the synthetic shapes-and-beeps task (@mmit/example-shapes), through the running services (ingest ->
// synth -> features -> trainer -> serve; see ../shapes/pipeline.ts). `--engine-only` runs the same
// task with the engine alone (no services): the quick check of the models and the task.
// Exit status 0 when every target is met, 3 when the run completed but a target was missed (1 is
// an error), so a script can tell a miss from a failure.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import {
  formatProofReport,
  HELD_OUT_KINDS,
  ITEM_KINDS,
  meetsTargets,
  PROOF_DEFAULTS,
  proofJson,
  runEngineProof,
} from '@mmit/example-shapes';
import type { Command } from 'commander';
import { z } from 'zod';
import { clientOf } from '../client.js';
import { runPipelineProof } from '../shapes/pipeline.js';

/** The run completed, but some accuracy is below its target. */
export const TARGET_MISSED = 3;

const ShapesOptionsSchema = z.object({
  seed: z.coerce.number().int().min(0),
  train: z.coerce.number().int().min(8).max(100_000),
  test: z.coerce.number().int().min(2).max(100_000),
  heldOut: z.enum(HELD_OUT_KINDS).default('places'),
  lmSteps: z.coerce.number().int().min(1),
  lmLr: z.coerce.number().positive(),
  lmBatch: z.coerce.number().int().min(1),
  lmScenes: z.coerce.number().int().min(0),
  lmNoise: z.coerce.number().min(0),
  projectorSteps: z.coerce.number().int().min(1),
  projectorLr: z.coerce.number().positive(),
  projector: z.enum(['linear', 'mlp2x_gelu']).default('mlp2x_gelu'),
  questionsPerItem: z.coerce.number().int().min(1).max(10),
  workDir: z.string().optional(),
  engineOnly: z.boolean().default(false),
  sabotage: z.enum(['shift-captions', 'shuffle-features']).optional(),
  kinds: z
    .string()
    .default(ITEM_KINDS.join(','))
    .transform((v) => v.split(',').map((k) => k.trim()))
    .pipe(z.array(z.enum(ITEM_KINDS)).min(1)),
  json: z.boolean().default(false),
});

export function registerBenchCommands(program: Command): void {
  const d = PROOF_DEFAULTS;
  const bench =
    program.commands.find((c) => c.name() === 'bench') ??
    program.command('bench').description('benchmarks and proofs');
  bench
    .command('shapes')
    .description(
      'train on synthetic pictures and beeps through every service, answer held-out questions, print accuracy beside chance',
    )
    .option('--seed <n>', 'task and initialisation seed', '1')
    .option('--train <n>', 'training pictures and clips (each)', String(d.train))
    .option('--test <n>', 'test pictures and clips (each)', String(d.test))
    .option(
      '--held-out <kind>',
      "what the test pictures' held-out combinations combine: places (a colour or a shape at a place training never shows it at) or colour-shape (pairs training never shows)",
      'places',
    )
    .option(
      '--lm-steps <n>',
      'tiny-LM pretraining steps (the --lm-* defaults are the shipped LM; other values pretrain one in the run)',
      String(d.lmSteps),
    )
    .option('--lm-lr <lr>', 'tiny-LM peak learning rate', String(d.lmLr))
    .option('--lm-batch <n>', 'tiny-LM batch size', String(d.lmBatchSize))
    .option(
      '--lm-scenes <n>',
      'text-only scenes the LM is pretrained on (and a quarter as many clips)',
      String(d.lmScenes),
    )
    .option(
      '--lm-noise <x>',
      "noise on the LM's slot rows while it is pretrained (fraction of its table's RMS)",
      String(d.lmNoise),
    )
    .option('--projector-steps <n>', 'projector steps per modality', String(d.projectorSteps))
    .option('--projector-lr <lr>', 'projector peak learning rate', String(d.projectorLr))
    .option(
      '--projector <type>',
      'projector the trainer learns: mlp2x_gelu (LLaVA-1.5) or linear (through the services)',
      'mlp2x_gelu',
    )
    .option(
      '--questions-per-item <n>',
      'short-answer questions synth makes per item',
      String(d.questionsPerItem),
    )
    .option(
      '--work-dir <dir>',
      'where the task and checkpoints are written; the services must be allowed to read it (default: a new folder under ./data/shapes/)',
    )
    .option('--engine-only', 'run with the engine alone, without the services')
    .option(
      '--sabotage <how>',
      "break a stage on purpose: shift-captions (each item gets the next one's caption; through the services) or shuffle-features (each item gets the next one's features; --engine-only)",
    )
    .option(
      '--kinds <list>',
      'media kinds to train and ask about: image, audio or both',
      ITEM_KINDS.join(','),
    )
    .option('--json', 'print one JSON object instead of the report')
    .action(async (raw: Record<string, unknown>, command: Command) => {
      const parsed = ShapesOptionsSchema.safeParse(raw);
      if (!parsed.success) throw new Error(`mmit bench shapes: ${z.prettifyError(parsed.error)}`);
      const o = parsed.data;
      if (o.sabotage && (o.sabotage === 'shuffle-features') !== o.engineOnly) {
        throw new Error(
          `mmit bench shapes: --sabotage ${o.sabotage} ${o.engineOnly ? 'needs the services (drop --engine-only)' : 'needs --engine-only'}`,
        );
      }
      // The services read the task folder and the checkpoints by path, so the default sits under the
      // working directory, inside the import roots the launcher allows.
      const shapesDir = join(process.cwd(), 'data', 'shapes');
      mkdirSync(shapesDir, { recursive: true });
      const workDir = o.workDir ?? mkdtempSync(join(shapesDir, `seed-${o.seed}-`));
      const log = o.json ? () => {} : (line: string) => console.error(line);
      // What both runs take: the task, the LM's pretraining, the projector stage.
      const common = {
        seed: o.seed,
        train: o.train,
        test: o.test,
        heldOut: o.heldOut,
        workDir,
        lmSteps: o.lmSteps,
        lmLr: o.lmLr,
        lmBatchSize: o.lmBatch,
        lmScenes: o.lmScenes,
        lmNoise: o.lmNoise,
        projector: o.projector,
        projectorSteps: o.projectorSteps,
        projectorLr: o.projectorLr,
        kinds: o.kinds,
        log,
      };
      const result = o.engineOnly
        ? await runEngineProof({
            ...common,
            ...(o.sabotage === 'shuffle-features' ? { sabotage: o.sabotage } : {}),
          })
        : await runPipelineProof({
            ...common,
            client: clientOf(command),
            questionsPerItem: o.questionsPerItem,
            ...(o.sabotage === 'shift-captions' ? { sabotage: o.sabotage } : {}),
          });
      console.log(o.json ? JSON.stringify(proofJson(result)) : formatProofReport(result));
      process.exitCode = meetsTargets(result.accuracy) ? 0 : TARGET_MISSED;
    });
}
