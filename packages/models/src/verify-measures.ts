// Error measures for parity checks against the hf-tiny golden cases, with the README's
// tolerances in one table. Every measure reports its value, its tolerance and whether it passed,
// so a case line can print all of them and a failing one says by how much.
import { type ExecutionProvider, type HostTensor, toNumbers } from '@mmit/tensor';

export interface Measure {
  name: string;
  value: number;
  tolerance: number;
  ok: boolean;
}

/** The fixture README's tolerances (float32 engine against the float64 reference). */
export const tolerances = {
  /** logits, hidden states, encoder outputs: max |a-b| / max |b| */
  activations: 1e-4,
  /** loss: relative error */
  loss: 1e-5,
  /** gradients: ||a-b|| / ||b|| per tensor */
  gradient: 1e-4,
  /** parameters after the AdamW steps: ||a-b|| / ||b|| */
  trainedParams: 1e-3,
  /** loss trajectory: each relative error */
  trajectory: 1e-4,
} as const;

export function measure(name: string, value: number, tolerance: number): Measure {
  return { name, value, tolerance, ok: Number.isFinite(value) && value < tolerance };
}

type Numbers = ArrayLike<number>;
const values = (t: HostTensor | Numbers): Numbers => ('dtype' in t ? toNumbers(t) : t);

function checkLengths(a: Numbers, b: Numbers, what: string): void {
  if (a.length !== b.length)
    throw new Error(`${what}: ${a.length} values against ${b.length} in the reference`);
}

/** max |a-b| / max |b| over the elements where `keep(i)` (default all). */
export function maxRelative(
  actual: HostTensor | Numbers,
  expected: HostTensor | Numbers,
  keep: (i: number) => boolean = () => true,
): number {
  const a = values(actual);
  const b = values(expected);
  checkLengths(a, b, 'maxRelative');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    if (!keep(i)) continue;
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** ||a-b|| / ||b||. */
export function normRelative(actual: HostTensor | Numbers, expected: HostTensor | Numbers): number {
  const a = values(actual);
  const b = values(expected);
  checkLengths(a, b, 'normRelative');
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    norm += b[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}

export function scalarRelative(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.abs(expected);
}

/** For (B, T, ...) tensors: keeps elements whose (b, t) has attention_mask == 1. */
export function maskedRows(mask: HostTensor, elementsPerRow: number): (i: number) => boolean {
  const m = toNumbers(mask);
  return (i) => m[Math.floor(i / elementsPerRow)] === 1;
}

/** What a case runner gets: one golden case, read from its folder. */
export interface CaseContext {
  /** The case folder (holds the checkpoints the metadata names). */
  dir: string;
  /** Tensors of the case file. */
  tensors: Record<string, HostTensor>;
  /** Parsed `__metadata__.json` (or the JSON case file itself). */
  metadata: Record<string, unknown>;
  ep: ExecutionProvider;
  /** Replaces a case's stored features (e.g. with features computed from pixel_values by a tower). */
  features?: HostTensor;
  /** Measures taken while preparing the case (e.g. the tower's features against the stored ones). */
  extraMeasures?: Measure[];
}

export type CaseRunner = (context: CaseContext) => Promise<Measure[]>;
