// The one place errors become text. Every command throws (an ApiError from a service, a SpecError,
// a UserError, anything else) and main.ts hands the error to reportError, which prints one
// paragraph on stderr: what failed, which field, in the words the user typed it (the spec file's
// field and line, or the flag), and how to fix it, with an example value where the schema gives
// one. Stack traces only with --verbose or MMIT_VERBOSE=1: they are for bug reports, not for users.
import { isAbsolute } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { z } from 'zod';
import type { FieldPath, SpecFile } from './spec.js';

/** An error whose message is already written for the user: what is wrong and, in `hint`, how to fix it. */
export class UserError extends Error {
  override name = 'UserError';
  constructor(
    message: string,
    readonly details: { hint?: string; example?: string; exitCode?: number } = {},
  ) {
    super(message);
  }
}

/**
 * Where the fields of a request body came from, so a service's field paths (`body.encoder.spec`)
 * can be named as the user wrote them: a spec file's fields, or flags (body path -> flag).
 * `schema` (the body's zod schema) lets an error show an example of a valid value.
 */
export type FieldOrigin =
  /** `at`: where the file's top level sits in the body (a dataset recipe is the body's `recipe`). */
  | { kind: 'spec'; spec: SpecFile; schema?: z.ZodType; at?: FieldPath }
  | { kind: 'flags'; flags: Readonly<Record<string, string>>; schema?: z.ZodType };

/** The fields of an error the printer reads; ApiError (http-client.ts) has them. */
interface ServiceError {
  status: number;
  problem?: { title?: string; detail?: string; code?: string; item?: unknown; errors?: FieldIssueLike[] };
  request?: { method: string; path: string; origin?: FieldOrigin };
  message: string;
}
interface FieldIssueLike {
  path: string;
  message: string;
  code?: string;
}

/** The noun whose `ls` lists the ids of a resource path, for "not found" hints. */
const LISTS: [RegExp, string][] = [
  [/^\/v1\/corpora/, 'mmit corpus ls'],
  [/^\/v1\/datasets\/(?!jobs)/, 'mmit dataset ls'],
  [/^\/v1\/features\/jobs/, 'mmit features ls'],
  [/^\/v1\/features/, 'mmit features stats'],
  [/^\/v1\/runs/, 'mmit train ls'],
  [/^\/v1\/(models|chat)/, 'mmit train ls (a run id is a model)'],
];

function isServiceError(err: unknown): err is ServiceError {
  return (
    err instanceof Error &&
    err.name === 'ApiError' &&
    typeof (err as { status?: unknown }).status === 'number'
  );
}

const sentence = (text: string) => {
  const t = text.trim();
  return t === '' || /[.!?:]$/.test(t) ? t : `${t}.`;
};

/**
 * zod's words as a user reads them: "Invalid input: expected object, received undefined" is a
 * missing field, "expected number, received string" a wrong type (both get an example).
 */
function plainMessage(issue: FieldIssueLike): { text: string; kind: 'missing' | 'type' | 'other' } {
  const m = /^Invalid input: expected (\w+), received (\w+)$/.exec(issue.message);
  if (m && m[2] === 'undefined') return { text: 'is missing', kind: 'missing' };
  if (m) return { text: `should be ${article(m[1])}, not ${article(m[2])}`, kind: 'type' };
  return { text: `: ${issue.message.replace(/^Invalid (input|option|string): /, '')}`, kind: 'other' };
}

function article(type: string): string {
  const names: Record<string, string> = { object: 'a section (key: value lines)', array: 'a list' };
  return names[type] ?? (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);
}

function fieldPathOf(servicePath: string): FieldPath {
  return servicePath
    .split('.')
    .filter((p, i) => !(i === 0 && (p === 'body' || p === 'query' || p === 'params')) && p !== '')
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

const dotted = (path: FieldPath) => path.map(String).join('.');

/**
 * How the user names a field: `run.yaml line 4: \`lm.checkpoint\``, or `--checkpoint`; `missing`
 * says where a field that is not in the file goes.
 */
function whereIs(path: FieldPath, origin: FieldOrigin | undefined): { label: string; missing?: string } {
  const plain = { label: `\`${dotted(path) || 'request'}\`` };
  if (!origin || path.length === 0) return plain;
  if (origin.kind === 'flags') {
    for (let n = path.length; n > 0; n--) {
      const flag = origin.flags[dotted(path.slice(0, n))];
      if (flag) return { label: n === path.length ? flag : `${flag} (\`${dotted(path.slice(n))}\`)` };
    }
    return plain;
  }
  const inFile = origin.at ?? [];
  if (!inFile.every((key, i) => path[i] === key)) return plain;
  path = path.slice(inFile.length);
  const at = origin.spec.locate(path);
  if (at.present) return { label: `${origin.spec.name} line ${at.line}: \`${dotted(path)}\`` };
  return {
    label: `${origin.spec.name}: \`${dotted(path)}\``,
    missing:
      at.parent.length === 0
        ? 'add it at the top level'
        : `add it under \`${dotted(at.parent)}\` (line ${at.line})`,
  };
}

type JsonSchema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  default?: unknown;
  minimum?: number;
  exclusiveMinimum?: number;
  $defs?: Record<string, JsonSchema>;
};

/** The JSON schema of the body's field at `path`, following $refs. */
function schemaAt(
  schema: z.ZodType,
  path: FieldPath,
): { node: JsonSchema; defs: Record<string, JsonSchema> } | undefined {
  let root: JsonSchema;
  try {
    root = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  } catch {
    return undefined;
  }
  const defs = root.$defs ?? {};
  const deref = (s: JsonSchema | undefined): JsonSchema | undefined => {
    let node = s;
    for (let i = 0; node?.$ref && i < 10; i++) node = defs[node.$ref.replace('#/$defs/', '')];
    return node;
  };
  let node = deref(root);
  for (const key of path) {
    if (!node) return undefined;
    node = deref(
      typeof key === 'number' ? (node.items ?? node.prefixItems?.[key]) : node.properties?.[String(key)],
    );
  }
  return node ? { node, defs } : undefined;
}

/** A small valid-looking value for a schema: required fields (all of them when none is required), defaults, the first option. */
function exampleValue(
  s: JsonSchema | undefined,
  key: string,
  defs: Record<string, JsonSchema>,
  depth = 0,
): unknown {
  if (s?.$ref) return exampleValue(defs[s.$ref.replace('#/$defs/', '')], key, defs, depth);
  if (!s) return `<${key}>`;
  if (s.default !== undefined && typeof s.default !== 'object') return s.default;
  if (s.enum) return s.enum[0];
  const variants = s.anyOf ?? s.oneOf;
  if (variants) return exampleValue(variants.find((v) => v.type !== 'null') ?? variants[0], key, defs, depth);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  if (type === 'object' && s.properties) {
    if (depth >= 3) return {};
    const keys = s.required?.length ? s.required : Object.keys(s.properties).slice(0, 4);
    return Object.fromEntries(keys.map((k) => [k, exampleValue(s.properties?.[k], k, defs, depth + 1)]));
  }
  if (type === 'array')
    return s.prefixItems
      ? s.prefixItems.map((p) => exampleValue(p, key, defs, depth + 1))
      : [exampleValue(s.items, key, defs, depth + 1)];
  if (type === 'number' || type === 'integer')
    return s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
  if (type === 'boolean') return true;
  return `<${key}>`;
}

/** The example a missing or mistyped field gets, in the syntax of the file it belongs in. */
function exampleFor(path: FieldPath, origin: FieldOrigin | undefined): string | undefined {
  if (!origin?.schema || path.length === 0) return undefined;
  const inFile = origin.kind === 'spec' ? (origin.at ?? []) : [];
  if (!inFile.every((key, i) => path[i] === key)) return undefined;
  const found = schemaAt(origin.schema, path.slice(inFile.length));
  if (!found) return undefined;
  const key = String(path[path.length - 1]);
  const value = exampleValue(found.node, key, found.defs);
  if (origin.kind === 'flags') return undefined;
  const snippet: Record<string, unknown> = { [key]: value };
  return origin.spec.syntax === 'json' ? JSON.stringify(snippet, null, 2) : toYaml(snippet).trimEnd();
}

function describeServiceError(err: ServiceError): { text: string; example?: string; exitCode: number } {
  const { problem, request } = err;
  if (err.status === 0 || !problem?.title) return { text: sentence(err.message), exitCode: 1 };
  const origin = request?.origin;
  const issues = problem.errors ?? [];
  const parts: string[] = [];
  let example: string | undefined;
  if (issues.length > 0) {
    const what =
      origin?.kind === 'spec' ? `the spec in ${origin.spec.name} was refused` : 'the request was refused';
    parts.push(`${what} (${err.status} ${problem.code ?? problem.title}):`);
    // One example is enough, and a missing field's is the most useful.
    const ranked = issues
      .map((issue) => ({ issue, path: fieldPathOf(issue.path), plain: plainMessage(issue) }))
      .sort((a, b) => Number(b.plain.kind === 'missing') - Number(a.plain.kind === 'missing'));
    for (const { path, plain } of issues.map((issue) => ({
      path: fieldPathOf(issue.path),
      plain: plainMessage(issue),
    }))) {
      const where = whereIs(path, origin);
      const text = plain.kind === 'missing' && where.missing ? `is missing: ${where.missing}` : plain.text;
      parts.push(`  - ${where.label}${text.startsWith(':') ? '' : ' '}${text}`);
    }
    for (const { path, plain } of ranked) {
      const e = plain.kind === 'other' ? undefined : exampleFor(path, origin);
      if (!e) continue;
      example = plain.kind === 'missing' ? `for example:\n${e}` : `a valid value looks like:\n${e}`;
      break;
    }
  } else {
    parts.push(sentence(`${problem.title} (${err.status}): ${problem.detail ?? ''}`));
    if (problem.item) parts.push(`  (item ${JSON.stringify(problem.item)})`);
  }
  if (err.status === 404 && request) {
    const list = LISTS.find(([re]) => re.test(request.path));
    if (list) parts.push(`Check the id: \`${list[1]}\` lists them.`);
  }
  if (err.status === 401) parts.push('Pass the key with --api-key or MMIT_API_KEY.');
  return { text: parts.join('\n'), ...(example ? { example } : {}), exitCode: err.status < 500 ? 2 : 1 };
}

/** Node's file errors (ENOENT, EACCES, ...) named by path, without the syscall jargon. */
function describeSystemError(err: NodeJS.ErrnoException): string | undefined {
  const path = err.path && (isAbsolute(err.path) ? err.path : `./${err.path}`.replace(/^\.\/\.\//, './'));
  switch (err.code) {
    case 'ENOENT':
      return path ? `no such file or folder: ${err.path}.` : undefined;
    case 'EACCES':
    case 'EPERM':
      return path ? `permission denied: ${err.path}.` : undefined;
    case 'EISDIR':
      return path ? `${err.path} is a folder; a file was expected.` : undefined;
    case 'ENOTDIR':
      return path ? `${err.path} is not a folder.` : undefined;
    default:
      return undefined;
  }
}

export interface Report {
  /** The paragraph for stderr (no trailing newline). */
  text: string;
  exitCode: number;
}

/** The paragraph for an error thrown by `command` (e.g. `mmit train start`). */
export function formatError(err: unknown, command: string, verbose = false): Report {
  let body: string;
  let exitCode = 1;
  let hint: string | undefined;
  let example: string | undefined;
  if (err instanceof UserError) {
    body = sentence(err.message);
    hint = err.details.hint;
    example = err.details.example;
    exitCode = err.details.exitCode ?? 2;
  } else if (isServiceError(err)) {
    const d = describeServiceError(err);
    body = d.text;
    example = d.example;
    exitCode = d.exitCode;
  } else if (err instanceof z.ZodError) {
    // Commands check their own options with zod: each path is a flag.
    body = err.issues
      .map(
        (i) =>
          `${i.path.length > 0 ? `--${i.path.join('.')}` : 'options'}: ${plainMessage({ path: '', message: i.message }).text}`,
      )
      .join('; ');
    exitCode = 2;
  } else if (err instanceof Error) {
    body = sentence(describeSystemError(err as NodeJS.ErrnoException) ?? err.message);
  } else {
    body = sentence(String(err));
  }
  const lines = [`${command}: ${body}`];
  if (hint) lines.push(sentence(hint.charAt(0).toUpperCase() + hint.slice(1)));
  if (example) lines.push(example.replace(/\n/g, '\n    ').replace(/^/, '  '));
  if (verbose && err instanceof Error && err.stack) lines.push('', err.stack);
  else if (!(err instanceof UserError) && !isServiceError(err) && !(err instanceof z.ZodError))
    lines.push('(run with --verbose or MMIT_VERBOSE=1 for the stack trace)');
  return { text: lines.join('\n'), exitCode };
}

/** Whether stack traces were asked for: --verbose anywhere on the command line, or MMIT_VERBOSE. */
export function verboseRequested(argv: readonly string[] = process.argv, env = process.env): boolean {
  const v = env.MMIT_VERBOSE;
  return argv.includes('--verbose') || (v !== undefined && v !== '' && v !== '0' && v !== 'false');
}

/** Prints the paragraph on stderr and sets the exit code; main.ts calls it for every error. */
export function reportError(err: unknown, command: string, verbose = verboseRequested()): void {
  const { text, exitCode } = formatError(err, command, verbose);
  process.stderr.write(`${text}\n`);
  process.exitCode = exitCode;
}
