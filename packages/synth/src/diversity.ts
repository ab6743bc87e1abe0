// The diversity report: how varied the instructions of a dataset are and how long things are.
// Openings are the first three words of each instruction; verb-noun pairs follow Self-Instruct's
// plot (the instruction's first main verb and the first noun after it; instructions without a
// main verb, like "What color is ...?", have no pair). Histograms use fixed edges so reports of
// different datasets compare directly.

import type { DiversityReport, Histogram, Sample } from '@mmit/contracts';
import { stripMediaToken } from './draft.js';
import { tag, wordCount } from './nlp/analyze.js';

const INSTRUCTION_EDGES = [0, 5, 10, 15, 20, 30, 50];
const ANSWER_EDGES = [0, 5, 10, 20, 40, 80, 160, 320];
const TURN_EDGES = [1, 2, 3, 4, 5, 6, 8];
const TOP_OPENINGS = 20;
const TOP_PAIRS = 20;

class HistogramCounter {
  private readonly counts: number[];
  constructor(private readonly edges: number[]) {
    this.counts = edges.map(() => 0);
  }
  add(value: number): void {
    let i = this.edges.length - 1;
    while (i > 0 && value < this.edges[i]) i--;
    this.counts[i]++;
  }
  toJSON(): Histogram {
    return { edges: [...this.edges], counts: [...this.counts] };
  }
}

/** The instruction's first main verb (lemma) and the first noun after it, if both exist. */
export function verbNoun(instruction: string): { verb: string; noun: string } | undefined {
  const tokens = tag(instruction);
  const v = tokens.findIndex((t) => t.pos === 'VERB');
  if (v < 0) return undefined;
  const noun = tokens.slice(v + 1).find((t) => t.pos === 'NOUN');
  return noun ? { verb: tokens[v].lemma, noun: noun.lemma } : undefined;
}

function opening(instruction: string): string {
  return (
    instruction
      .toLowerCase()
      .match(/[\p{L}\p{N}']+/gu)
      ?.slice(0, 3)
      .join(' ') ?? ''
  );
}

function top<T>(counts: Map<string, number>, n: number, make: (key: string, count: number) => T): T[] {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([k, c]) => make(k, c));
}

export class DiversityAccumulator {
  private samples = 0;
  private instructions = 0;
  private readonly distinct = new Set<string>();
  private readonly openings = new Map<string, number>();
  private readonly pairs = new Map<string, number>();
  /** Verb-noun pairs of instructions already parsed: pools repeat, and parsing is the cost. */
  private readonly pairCache = new Map<string, string | null>();
  private readonly instructionWords = new HistogramCounter(INSTRUCTION_EDGES);
  private readonly answerWords = new HistogramCounter(ANSWER_EDGES);
  private readonly turns = new HistogramCounter(TURN_EDGES);

  add(sample: Sample): void {
    this.samples++;
    let turns = 0;
    for (const turn of sample.conversations) {
      if (turn.from === 'gpt') {
        this.answerWords.add(wordCount(turn.value));
        continue;
      }
      turns++;
      const instruction = stripMediaToken(turn.value);
      this.instructions++;
      this.distinct.add(instruction);
      this.instructionWords.add(wordCount(instruction));
      const open = opening(instruction);
      this.openings.set(open, (this.openings.get(open) ?? 0) + 1);
      let pair = this.pairCache.get(instruction);
      if (pair === undefined) {
        const vn = verbNoun(instruction);
        pair = vn ? `${vn.verb} ${vn.noun}` : null;
        this.pairCache.set(instruction, pair);
      }
      if (pair) this.pairs.set(pair, (this.pairs.get(pair) ?? 0) + 1);
    }
    this.turns.add(turns);
  }

  report(): DiversityReport {
    return {
      samples: this.samples,
      instructions: this.instructions,
      distinctInstructions: this.distinct.size,
      distinctOpenings: this.openings.size,
      topOpenings: top(this.openings, TOP_OPENINGS, (opening, count) => ({ opening, count })),
      topVerbNouns: top(this.pairs, TOP_PAIRS, (key, count) => {
        const [verb, noun] = key.split(' ');
        return { verb, noun, count };
      }),
      instructionWords: this.instructionWords.toJSON(),
      answerWords: this.answerWords.toJSON(),
      turnsPerSample: this.turns.toJSON(),
    };
  }
}

export function diversityOf(samples: Iterable<Sample>): DiversityReport {
  const acc = new DiversityAccumulator();
  for (const s of samples) acc.add(s);
  return acc.report();
}
