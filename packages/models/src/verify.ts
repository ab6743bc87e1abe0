// The verify library behind `mmit verify <dir>`: finds every golden case in a folder laid out
// like shared/fixtures/hf-tiny (case_*.safetensors with a JSON `__metadata__.json`, and
// case_tokenizer.json), picks a runner by the case's `kind`, and reports one result per case with
// its error measures. Nothing about sizes is assumed: runners read configs and metadata.
// Encoder cases (vision_encoder, audio_encoder) come from verify-encoders.ts (the encoder side's).
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type ExecutionProvider, readSafetensors } from '@mmit/tensor';
import { z } from 'zod';
import { encoderCaseRunners } from './verify-encoders.js';
import {
  llavaFeaturesFromPixels,
  readJsonCase,
  runLlavaStepCase,
  runLlavaTrainCase,
  runLmForwardCase,
  runTokenizerCase,
} from './verify-lm.js';
import type { CaseContext, CaseRunner, Measure } from './verify-measures.js';

export type { Measure } from './verify-measures.js';

/** Runners by the `kind` in a case's metadata. */
export const caseRunners: Record<string, CaseRunner> = {
  tokenizer: runTokenizerCase,
  lm_forward: runLmForwardCase,
  llava_projector_step: runLlavaStepCase,
  llava_projector_train: runLlavaTrainCase,
  ...encoderCaseRunners,
};

export interface CaseResult {
  name: string;
  kind: string;
  ok: boolean;
  measures: Measure[];
  /** Set when the case could not run (bad file, unknown kind, exception). */
  error?: string;
  ms: number;
}

export interface VerifyOptions {
  ep?: ExecutionProvider;
  /** Only cases whose name contains one of these. */
  only?: string[];
  /**
   * Runners for kinds a package above this one checks (e.g. @mmit/inference's `lm_generate`,
   * which runs the decoder loop serve uses); they join `caseRunners`.
   */
  runners?: Record<string, CaseRunner>;
  /** Called after each case (the command prints as it goes). */
  onResult?: (result: CaseResult) => void;
}

export class VerifyFolderError extends Error {
  override name = 'VerifyFolderError';
}

const metadataJson = z.object({ json: z.string() });

/** The case files of a folder, sorted: case_*.safetensors and case_*.json. */
export function listCases(dir: string): string[] {
  if (!existsSync(dir)) throw new VerifyFolderError(`${dir} does not exist`);
  const files = readdirSync(dir).filter((f) => /^case_.*\.(safetensors|json)$/.test(f));
  if (files.length === 0)
    throw new VerifyFolderError(`${dir} holds no case_*.safetensors or case_*.json files`);
  return files.sort();
}

function loadContext(dir: string, file: string, ep: ExecutionProvider): CaseContext {
  const path = join(dir, file);
  if (file.endsWith('.json')) return { dir, tensors: {}, metadata: readJsonCase(path), ep };
  const { tensors, metadata } = readSafetensors(path);
  const parsed = metadataJson.safeParse(metadata);
  if (!parsed.success) throw new Error(`${file} has no __metadata__.json describing the case`);
  return { dir, tensors, metadata: JSON.parse(parsed.data.json) as Record<string, unknown>, ep };
}

/** Runs one case file; never throws (a failure becomes a result with `error`). */
export async function runCase(
  dir: string,
  file: string,
  ep: ExecutionProvider = 'cpu',
  runners: Record<string, CaseRunner> = caseRunners,
): Promise<CaseResult> {
  const name = basename(file).replace(/\.(safetensors|json)$/, '');
  const started = performance.now();
  let kind = '?';
  try {
    const context = loadContext(dir, file, ep);
    kind = String(context.metadata.kind ?? '?');
    const runner = runners[kind];
    if (!runner) {
      throw new Error(`no runner for case kind '${kind}'; known: ${Object.keys(runners).join(', ')}`);
    }
    if (kind === 'llava_projector_step' && context.metadata.vision && 'pixel_values' in context.tensors) {
      const fromTower = await llavaFeaturesFromPixels(context);
      context.features = fromTower.features;
      context.extraMeasures = fromTower.measures;
    }
    const measures = [...(context.extraMeasures ?? []), ...(await runner(context))];
    return { name, kind, ok: measures.every((m) => m.ok), measures, ms: performance.now() - started };
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { name, kind, ok: false, measures: [], error: message, ms: performance.now() - started };
  }
}

/** Runs every case of `dir` (in name order) and returns the results. */
export async function verifyFolder(dir: string, options: VerifyOptions = {}): Promise<CaseResult[]> {
  const files = listCases(dir).filter(
    (f) => !options.only?.length || options.only.some((o) => f.includes(o)),
  );
  const results: CaseResult[] = [];
  for (const file of files) {
    const result = await runCase(dir, file, options.ep ?? 'cpu', { ...caseRunners, ...options.runners });
    options.onResult?.(result);
    results.push(result);
  }
  return results;
}

function formatValue(value: number): string {
  if (value === 0) return '0';
  return Math.abs(value) >= 1 && Number.isInteger(value) ? String(value) : value.toExponential(1);
}

/** One line per case: status, name, each measure as name=value(<tolerance), time. */
export function formatResult(result: CaseResult): string {
  const status = result.ok ? 'ok  ' : 'FAIL';
  const name = result.name.padEnd(26);
  const body = result.error
    ? result.error
    : result.measures
        .map((m) => `${m.ok ? '' : '!'}${m.name}=${formatValue(m.value)}(<${formatValue(m.tolerance)})`)
        .join(' ');
  return `${status} ${name} ${body}  [${(result.ms / 1000).toFixed(1)}s]`;
}
