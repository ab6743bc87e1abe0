// Dimensions at build time: a number, or a symbolic name such as 'batch' that is fixed only at
// run time. Reshapes multiply and divide dims ('batch*seq'), concatenation adds them
// ('past+seq'), so symbols are kept in a small canonical form: an optional integer coefficient
// times sorted atoms joined by '*'. That is enough to check and infer every shape the models build;
// anything subtler (e.g. proving 'a+b' equals 'b+a') is out of scope and reported as a mismatch.

export type Dim = number | string;
export type Shape = readonly Dim[];

interface Product {
  coefficient: number;
  atoms: string[];
}

/** Splits 'a*b*(c+d)' into factors, keeping parenthesised sums whole. */
function factors(dim: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < dim.length; i++) {
    const c = dim[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '*' && depth === 0) {
      out.push(dim.slice(start, i));
      start = i + 1;
    }
  }
  out.push(dim.slice(start));
  return out;
}

function toProduct(dim: Dim): Product {
  if (typeof dim === 'number') return { coefficient: dim, atoms: [] };
  let coefficient = 1;
  const atoms: string[] = [];
  for (const f of factors(dim)) {
    if (/^\d+$/.test(f)) coefficient *= Number(f);
    else atoms.push(unwrap(f));
  }
  return { coefficient, atoms: atoms.sort() };
}

/** '(a+b)' -> 'a+b' when the parentheses enclose the whole atom. */
function unwrap(atom: string): string {
  if (!atom.startsWith('(') || !atom.endsWith(')')) return atom;
  let depth = 0;
  for (let i = 0; i < atom.length - 1; i++) {
    if (atom[i] === '(') depth++;
    else if (atom[i] === ')') depth--;
    if (depth === 0) return atom;
  }
  return atom.slice(1, -1);
}

function fromProduct({ coefficient, atoms }: Product): Dim {
  if (atoms.length === 0) return coefficient;
  const several = atoms.length > 1 || coefficient !== 1;
  // Sums and differences are wrapped when they are one factor among several.
  const names = atoms.map((a) => (several && /[+-]/.test(a) ? `(${a})` : a)).join('*');
  return coefficient === 1 ? names : `${coefficient}*${names}`;
}

/** The factors of a canonical product dim: '2*batch*seq' -> [2, 'batch', 'seq']. */
export function splitProduct(dim: Dim): Dim[] {
  const { coefficient, atoms } = toProduct(dim);
  return coefficient === 1 ? atoms : [coefficient, ...atoms];
}

/** Canonical spelling, so 'seq*batch' and 'batch*seq' compare equal. */
export function normalizeDim(dim: Dim): Dim {
  return fromProduct(toProduct(dim));
}

export function dimsEqual(a: Dim, b: Dim): boolean {
  return normalizeDim(a) === normalizeDim(b);
}

export function mulDims(a: Dim, b: Dim): Dim {
  const pa = toProduct(a);
  const pb = toProduct(b);
  if (pa.coefficient === 0 || pb.coefficient === 0) return 0;
  return fromProduct({
    coefficient: pa.coefficient * pb.coefficient,
    atoms: [...pa.atoms, ...pb.atoms].sort(),
  });
}

export function productOf(dims: Shape): Dim {
  return dims.reduce<Dim>((acc, d) => mulDims(acc, d), 1);
}

/** a / b when it divides exactly at build time (cancelling atoms), else null. */
export function divDims(a: Dim, b: Dim): Dim | null {
  const pa = toProduct(a);
  const pb = toProduct(b);
  if (pb.coefficient === 0 || pa.coefficient % pb.coefficient !== 0) return null;
  const atoms = [...pa.atoms];
  for (const atom of pb.atoms) {
    const at = atoms.indexOf(atom);
    if (at < 0) return null;
    atoms.splice(at, 1);
  }
  return fromProduct({ coefficient: pa.coefficient / pb.coefficient, atoms });
}

export function addDims(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (a === 0) return b;
  if (b === 0) return a;
  const wrap = (d: Dim) => (typeof d === 'string' && factors(d).length > 1 ? `(${d})` : String(d));
  return `${wrap(a)}+${wrap(b)}`;
}

/** a - k for a constant k; a symbolic result stays an opaque atom such as 'seq-1'. */
export function subDim(a: Dim, k: number): Dim {
  if (typeof a === 'number') return a - k;
  if (k === 0) return a;
  const base = factors(a).length > 1 ? `(${a})` : a;
  return k > 0 ? `${base}-${k}` : `${base}+${-k}`;
}

export function isStatic(shape: Shape): shape is readonly number[] {
  return shape.every((d) => typeof d === 'number');
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/**
 * ONNX (numpy) broadcasting of two shapes. Returns the result, or null when two dims differ and
 * neither is 1. A symbol against a number other than 1 is taken to equal the number (the run
 * checks it); two different symbols are a mismatch, because silently broadcasting 'seq' against
 * 'past+seq' is how masks go wrong.
 */
export function broadcastShapes(a: Shape, b: Shape): Dim[] | null {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da === 1) out.push(db);
    else if (db === 1) out.push(da);
    else if (dimsEqual(da, db)) out.push(da);
    else if (typeof da === 'number' && typeof db === 'string') out.push(da);
    else if (typeof da === 'string' && typeof db === 'number') out.push(db);
    else return null;
  }
  return out;
}
