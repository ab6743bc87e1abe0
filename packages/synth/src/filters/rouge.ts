// ROUGE-L (longest common subsequence of words) and Self-Instruct's novelty rule: an instruction
// whose ROUGE-L F1 against any earlier one exceeds the threshold is dropped. F1 = 2*LCS/(m+n);
// since LCS is at most the multiset overlap of the two word lists, an inverted index finds the
// only earlier instructions that could pass the threshold, and LCS runs on those alone.

export function lcsLength(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Uint16Array(b.length + 1);
  let curr = new Uint16Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      curr[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], curr[j - 1]);
    }
    [prev, curr] = [curr, prev];
  }
  return prev[b.length];
}

export function rougeL(a: string[], b: string[]): number {
  if (a.length + b.length === 0) return 1;
  return (2 * lcsLength(a, b)) / (a.length + b.length);
}

function counts(list: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const w of list) out.set(w, (out.get(w) ?? 0) + 1);
  return out;
}

/** Earlier instructions, searchable for one too similar to a new one. */
export class InstructionMemory {
  private readonly docs: string[][] = [];
  private readonly exact = new Set<string>();
  private readonly index = new Map<string, { doc: number; count: number }[]>();

  constructor(readonly threshold: number) {}

  /** The highest ROUGE-L F1 above the threshold against a remembered instruction, if any. */
  tooSimilar(instruction: string[]): number | undefined {
    if (instruction.length === 0) return undefined;
    if (this.exact.has(instruction.join(' '))) return 1;
    const overlap = new Map<number, number>();
    for (const [word, n] of counts(instruction)) {
      for (const { doc, count } of this.index.get(word) ?? [])
        overlap.set(doc, (overlap.get(doc) ?? 0) + Math.min(n, count));
    }
    let best: number | undefined;
    for (const [doc, shared] of overlap) {
      const other = this.docs[doc];
      if ((2 * shared) / (instruction.length + other.length) <= this.threshold) continue;
      const score = rougeL(instruction, other);
      if (score > this.threshold && (best === undefined || score > best)) best = score;
    }
    return best;
  }

  add(instruction: string[]): void {
    const key = instruction.join(' ');
    if (this.exact.has(key)) return;
    this.exact.add(key);
    const doc = this.docs.length;
    this.docs.push(instruction);
    for (const [word, count] of counts(instruction)) {
      const list = this.index.get(word);
      if (list) list.push({ doc, count });
      else this.index.set(word, [{ doc, count }]);
    }
  }
}
