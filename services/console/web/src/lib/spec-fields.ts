// Optional fields of an API payload as form inputs: one table entry per field (where it goes in
// the payload, how its text is read), so a form can carry every field a service accepts without
// a hand-written input for each. Left empty, a field is not sent and the service's own default
// applies (the placeholder shows it), so the console never keeps a second copy of the defaults.
//
// The contracts' zod schemas cannot be bundled (their package imports node:crypto), so the
// console takes their types only: `allOf` and `Leaves` below turn those types into compile-time
// checks that a list names every enum member and a table every payload field.

/** Dotted paths of every leaf of an input type; arrays, tuples and unions of scalars are leaves. */
export type Leaves<T, P extends string = ''> = T extends
  | readonly unknown[]
  | string
  | number
  | boolean
  | null
  | undefined
  ? P
  : {
      [K in keyof T & string]-?: Leaves<NonNullable<T[K]>, P extends '' ? K : `${P}.${K}`>;
    }[keyof T & string];

/**
 * The given values, checked at compile time to be every member of `T`: a value the contracts add
 * fails the typecheck here instead of silently missing from a form.
 */
export const allOf =
  <T extends string>() =>
  <const A extends readonly T[]>(
    values: A & ([T] extends [A[number]] ? unknown : { missing: Exclude<T, A[number]> }),
  ): A =>
    values;

export type FieldKind =
  | { type: 'number'; int?: boolean; min?: number; max?: number; exclusiveMin?: boolean }
  | { type: 'text'; max?: number }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'boolean' }
  /** Comma-separated values; with `values`, each must be one of them. */
  | { type: 'list'; values?: readonly string[]; min?: number }
  /** Comma-separated whole numbers: one alone is sent as a number, several as an array. */
  | { type: 'ints'; max?: number }
  /** A number, or `off` for null. */
  | { type: 'numberOrOff'; min?: number; exclusiveMin?: boolean };

export interface OptionalField<Name extends string = string> {
  name: Name;
  /** Where the value goes in the payload. */
  path: string;
  label: string;
  /** The service's default, shown as the placeholder. */
  placeholder: string;
  group: string;
  kind: FieldKind;
  hint?: string;
}

export type Parsed = { value: unknown } | { error: string } | { empty: true };

/** Reads one field's text: empty (not sent), a value, or the message to show beside it. */
export function parseOptional(field: OptionalField, text: string): Parsed {
  const raw = text.trim();
  if (raw === '') return { empty: true };
  const { kind, label } = field;
  const number = (s: string): number | string => {
    const n = Number(s);
    if (!Number.isFinite(n)) return `${label} must be a number`;
    if ('int' in kind && kind.int && !Number.isInteger(n)) return `${label} must be a whole number`;
    if ('min' in kind && kind.min !== undefined) {
      if ('exclusiveMin' in kind && kind.exclusiveMin ? n <= kind.min : n < kind.min)
        return `${label} must be ${'exclusiveMin' in kind && kind.exclusiveMin ? '>' : 'at least'} ${kind.min}`;
    }
    if ('max' in kind && kind.max !== undefined && n > kind.max)
      return `${label} must be at most ${kind.max}`;
    return n;
  };
  switch (kind.type) {
    case 'number': {
      const n = number(raw);
      return typeof n === 'string' ? { error: n } : { value: n };
    }
    case 'numberOrOff': {
      if (raw.toLowerCase() === 'off') return { value: null };
      const n = number(raw);
      return typeof n === 'string' ? { error: `${n}, or off` } : { value: n };
    }
    case 'text':
      return kind.max !== undefined && raw.length > kind.max
        ? { error: `${label}: at most ${kind.max} characters` }
        : { value: raw };
    case 'enum':
      return kind.values.includes(raw)
        ? { value: raw }
        : { error: `${label} must be one of ${kind.values.join(', ')}` };
    case 'boolean':
      return raw === 'true' || raw === 'false'
        ? { value: raw === 'true' }
        : { error: `${label} must be true or false` };
    case 'list': {
      const items = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const wrong = kind.values ? items.filter((s) => !kind.values?.includes(s)) : [];
      if (wrong.length > 0)
        return { error: `${label}: ${wrong.join(', ')} not one of ${kind.values?.join(', ')}` };
      if (items.length < (kind.min ?? 0)) return { error: `${label}: name at least ${kind.min}` };
      return { value: items };
    }
    case 'ints': {
      const parts = raw.split(',').map((s) => s.trim());
      const values = parts.map(Number);
      if (parts.some((p) => p === '') || !values.every(Number.isInteger))
        return { error: `${label} must be whole numbers, comma-separated` };
      if (kind.max !== undefined && values.length > kind.max)
        return { error: `${label}: at most ${kind.max} values` };
      return { value: values.length === 1 ? values[0] : values };
    }
  }
}

/** Sets `value` at a dotted `path` of `target`, creating the objects on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
}

/**
 * Applies every filled optional field to `payload`; fields whose path starts with a prefix in
 * `skip` are left out (the parts of the payload the form switched off, such as LoRA).
 */
export function applyOptional<Name extends string>(
  fields: readonly OptionalField<Name>[],
  values: Partial<Record<Name, string>>,
  payload: Record<string, unknown>,
  skip: readonly string[] = [],
): Partial<Record<Name, string>> {
  const errors: Partial<Record<Name, string>> = {};
  for (const field of fields) {
    if (skip.some((prefix) => field.path === prefix || field.path.startsWith(`${prefix}.`))) continue;
    const parsed = parseOptional(field, values[field.name] ?? '');
    if ('error' in parsed) errors[field.name] = parsed.error;
    else if ('value' in parsed) setPath(payload, field.path, parsed.value);
  }
  return errors;
}

/**
 * The form field an issue path (`body.optimizer.lr`) is about: the table's entry for that path,
 * for the nearest enclosing path, or for the first field inside it (an issue about a whole object).
 */
export function fieldOfPath<F extends string>(table: Record<string, F>, issuePath: string): F | undefined {
  const path = issuePath.replace(/^body\./, '');
  for (let p = path; p; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') {
    if (p in table) return table[p];
  }
  const inside = Object.keys(table).find((leaf) => leaf.startsWith(`${path}.`));
  return inside === undefined ? undefined : table[inside];
}
