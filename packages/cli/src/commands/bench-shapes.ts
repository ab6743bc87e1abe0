// `mmit bench shapes --seed S --train N --test M [--json]`: the proof that the pipeline learns,
// on the synthetic shapes-and-beeps task (@mmit/proof). Today it runs the engine-only proof:
// generate the task, pretrain the tiny LM on its text (then frozen), random frozen encoders,
// one projector per modality, score the held-out test questions. The run through the services
// (ingest -> synth -> features -> trainer -> serve) is not wired yet; see docs/walkthrough.md.
// Exit code 0 when every target is met, 1 otherwise, so CI can run it as a check.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProofReport, meetsTargets, proofJson, runEngineProof } from '@mmit/proof';
import type { Command } from 'commander';
import { z } from 'zod';

const ShapesOptionsSchema = z.object({
  seed: z.coerce.number().int().min(0),
  train: z.coerce.number().int().min(8).max(100_000),
  test: z.coerce.number().int().min(2).max(100_000),
  lmSteps: z.coerce.number().int().min(1),
  projectorSteps: z.coerce.number().int().min(1),
  workDir: z.string().optional(),
  json: z.boolean().default(false),
});

export function registerBenchCommands(program: Command): void {
  const bench =
    program.commands.find((c) => c.name() === 'bench') ??
    program.command('bench').description('benchmarks and proofs');
  bench
    .command('shapes')
    .description(
      'train on synthetic pictures and beeps, answer held-out questions, print accuracy beside chance',
    )
    .option('--seed <n>', 'task and initialisation seed', '1')
    .option('--train <n>', 'training pictures and clips (each)', '200')
    .option('--test <n>', 'test pictures and clips (each)', '50')
    .option('--lm-steps <n>', 'tiny-LM pretraining steps', '1500')
    .option('--projector-steps <n>', 'projector steps per modality', '400')
    .option('--work-dir <dir>', 'where checkpoints are written (default: a temp folder)')
    .option('--json', 'print one JSON object instead of the report')
    .action(async (raw: Record<string, unknown>) => {
      const parsed = ShapesOptionsSchema.safeParse(raw);
      if (!parsed.success) throw new Error(`mmit bench shapes: ${z.prettifyError(parsed.error)}`);
      const o = parsed.data;
      const result = await runEngineProof({
        seed: o.seed,
        train: o.train,
        test: o.test,
        lmSteps: o.lmSteps,
        projectorSteps: o.projectorSteps,
        workDir: o.workDir ?? mkdtempSync(join(tmpdir(), 'mmit-shapes-')),
        log: o.json ? undefined : (line: string) => console.error(line),
      });
      console.log(o.json ? JSON.stringify(proofJson(result)) : formatProofReport(result));
      process.exitCode = meetsTargets(result.accuracy) ? 0 : 1;
    });
}
