// The folder an export writes. Everything is written into a staging folder beside it and moved into
// place only when the whole export succeeded, so a failure (a missing preprocessor config, a full
// disk, an interrupted process) never leaves a half-written or empty model folder behind. An
// existing non-empty folder is refused before any work starts unless the caller forces it; forced,
// the export's files replace their namesakes and other files stay.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ExportError } from './errors.js';

/** Refuses a non-empty folder unless forced: called before any work starts. */
export function checkExportOutDir(dir: string, force: boolean): void {
  if (!existsSync(dir)) return;
  const existing = readdirSync(dir);
  if (existing.length > 0 && !force) {
    throw new ExportError(
      'conflict',
      `${dir} is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', ...' : ''}); choose an empty folder or force (--force)`,
    );
  }
}

function createStaging(target: string): string {
  mkdirSync(dirname(target), { recursive: true });
  const staging = join(dirname(target), `.${basename(target)}.partial-${process.pid}-${Date.now()}`);
  mkdirSync(staging);
  return staging;
}

function moveIntoPlace(staging: string, target: string): void {
  if (!existsSync(target)) {
    renameSync(staging, target);
    return;
  }
  for (const entry of readdirSync(staging)) {
    rmSync(join(target, entry), { recursive: true, force: true });
    renameSync(join(staging, entry), join(target, entry));
  }
  rmSync(staging, { recursive: true, force: true });
}

/**
 * Runs `write(staging)` with a fresh staging folder beside `dir`, then moves what it wrote into
 * `dir`; on any error the staging folder is removed and `dir` is as it was.
 */
export function writeExportFolder<T>(
  dir: string,
  force: boolean | undefined,
  write: (staging: string) => T,
): T {
  const target = resolve(dir);
  checkExportOutDir(target, force ?? false);
  const staging = createStaging(target);
  try {
    const result = write(staging);
    moveIntoPlace(staging, target);
    return result;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

/** writeExportFolder for a writer that awaits (a download): the same staging, move and cleanup. */
export async function writeExportFolderAsync<T>(
  dir: string,
  force: boolean | undefined,
  write: (staging: string) => Promise<T>,
): Promise<T> {
  const target = resolve(dir);
  checkExportOutDir(target, force ?? false);
  const staging = createStaging(target);
  try {
    const result = await write(staging);
    moveIntoPlace(staging, target);
    return result;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

/** Progress lines for a caller that shows them (the CLI prints them). */
export type ProgressFn = (message: string) => void;
