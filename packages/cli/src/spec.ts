// Spec files (a training run, a dataset recipe) as the user wrote them: YAML or JSON (YAML 1.2
// reads JSON too, so one parser serves both and a spec can be either whatever its extension), with
// the position of every field kept, so an error about `encoder.spec.checkpoint` can say which line
// of which file to change. `-` reads stdin.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { UserError } from './errors.js';

export type FieldPath = readonly (string | number)[];

export interface SpecFile {
  /** The name errors use: the path as given, or `stdin`. */
  readonly name: string;
  /** Whether the user wrote JSON (examples in errors are shown in the same syntax). */
  readonly syntax: 'json' | 'yaml';
  /** The parsed value; commands may change it (flag overrides) before sending it. */
  value: Record<string, unknown>;
  /**
   * Where `path` is in the file: the line of the field itself, or, when it is missing, the line of
   * the nearest enclosing field that exists (`present` false; line undefined for the top level).
   */
  locate(path: FieldPath): { line: number | undefined; present: boolean; parent: FieldPath };
}

/** A spec file that cannot be read or parsed; the message names the file, the line and the column. */
export class SpecError extends UserError {
  override name = 'SpecError';
}

export function parseSpec(text: string, name: string): SpecFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const { line, col } = lineCounter.linePos(first.pos[0]);
    // yaml's own message restates the position and quotes the source; the first clause is the news.
    const what = first.message.split(/ at line \d+/)[0];
    throw new SpecError(`${name} line ${line}, column ${col}: ${what}.`, {
      hint: 'a spec is YAML (key: value, nested keys indented by two spaces) or JSON; fix that line and retry',
    });
  }
  const value: unknown = doc.toJS();
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SpecError(
      `${name}: a spec is a mapping of fields (e.g. \`datasetId: ds_...\`), not ${value === null ? 'empty' : Array.isArray(value) ? 'a list' : `the value ${JSON.stringify(value)}`}.`,
    );
  }
  const syntax = extname(name).toLowerCase() === '.json' || /^\s*\{/.test(text) ? 'json' : 'yaml';
  return {
    name,
    syntax,
    value: value as Record<string, unknown>,
    locate(path) {
      for (let depth = path.length; depth >= 0; depth--) {
        const prefix = path.slice(0, depth);
        const node = depth === 0 ? doc.contents : doc.getIn(prefix, true);
        if (node === undefined || node === null) continue;
        // A field's line is its key's line; for a scalar, getIn returns the value node, on the same line.
        const range = (node as { range?: [number, number, number] }).range;
        const isContainer = isMap(node) || isSeq(node);
        const keyLine = depth > 0 ? keyLineOf(prefix) : undefined;
        const line =
          keyLine ??
          (range && !(depth === 0 && isContainer) ? lineCounter.linePos(range[0]).line : undefined);
        return { line: depth === 0 ? undefined : line, present: depth === path.length, parent: prefix };
      }
      return { line: undefined, present: false, parent: [] };
    },
  };

  function keyLineOf(path: FieldPath): number | undefined {
    const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
    if (!isMap(parent)) return undefined;
    const pair = parent.items.find(
      (p) => String((p.key as { value?: unknown } | null)?.value ?? p.key) === String(path[path.length - 1]),
    );
    const range = (pair?.key as { range?: [number, number, number] } | null)?.range;
    return range ? lineCounter.linePos(range[0]).line : undefined;
  }
}

/** Reads and parses a spec file (`-`: stdin). */
export function readSpecFile(path: string): SpecFile {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SpecError(
      code === 'ENOENT'
        ? `${path}: no such file.`
        : code === 'EISDIR'
          ? `${path} is a folder; give the spec file inside it.`
          : `cannot read ${path}: ${(err as Error).message}.`,
    );
  }
  return parseSpec(text, path === '-' ? 'stdin' : path);
}
