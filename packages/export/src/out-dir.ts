// The folder an export writes: created when missing; an existing non-empty folder is refused
// unless the caller forces it, so an export never silently mixes with another model's files.
import { mkdirSync, readdirSync } from 'node:fs';
import { ExportError } from './errors.js';

export function prepareOutDir(dir: string, force = false): void {
  mkdirSync(dir, { recursive: true });
  const existing = readdirSync(dir);
  if (existing.length > 0 && !force) {
    throw new ExportError(
      'conflict',
      `${dir} is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', ...' : ''}); choose an empty folder or force (--force)`,
    );
  }
}

/** Progress lines for a caller that shows them (the CLI prints them). */
export type ProgressFn = (message: string) => void;
