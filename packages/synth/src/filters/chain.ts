// The filter chain. Turn filters look at one question-answer pair and drop just that pair
// (length, unsafe words, language, hedging, grounding, similar instruction); a draft left with
// no pairs is dropped, counted against the filter that removed its last pair. Sample filters
// (exact and near duplicate) look at the whole conversation against every sample kept before.
// Order matters only for what gets the blame; cheap checks run first. Short-answer (vqa) samples
// are checked for exact duplicates of the same media only: "What color is the star at the top
// left? red" and "... the circle at the top right? blue" share most word shingles yet ask
// different things, and one question-answer pair is true of many pictures.
//
// The chain runs in two steps so the expensive part can run anywhere, in any order:
// screen() applies the turn filters that look at the draft alone (everything but
// similar_instruction), remembers nothing and counts nothing; admit() then applies what depends
// on the samples kept before (similar instruction, duplicates), strictly in dataset order, and
// counts every removal of both steps. admit(screen(draft)) is exactly apply(draft): the checks
// screen() makes come first in each turn's order and never depend on the other turns.
//
// Memory grows with the samples kept (a hash, a 256-byte signature, and in `dataset` scope the
// generated questions); remember() feeds it samples kept by an earlier run.
import { createHash } from 'node:crypto';
import type { FilterConfig, FilterName, FilterStats, Sample, SampleKind } from '@mmit/contracts';
import { type Draft, type DraftTurn, stripMediaToken } from '../draft.js';
import { wordCount } from '../nlp/analyze.js';
import { ungroundedNouns } from './grounding.js';
import { hedgingPhrase } from './hedging.js';
import { isOffTarget } from './language.js';
import { MinHashIndex, signature } from './minhash.js';
import { InstructionMemory } from './rouge.js';
import { shingleHashes, words } from './text.js';
import { UnsafeWords } from './unsafe.js';

export function emptyFilterStats(): FilterStats {
  return { considered: { samples: 0, turns: 0 }, kept: { samples: 0, turns: 0 }, removed: {} };
}

/** Why a turn or sample was dropped, for logs and tests. */
export interface Rejection {
  filter: FilterName;
  detail: string;
}

/** A turn after screen(): `rejected` says which draft-local filter dropped it, if one did. */
export interface ScreenedTurn extends DraftTurn {
  rejected?: Rejection;
}

/** A draft after screen(), every turn still there (admit() needs them all, in order, for the counts). */
export interface ScreenedDraft {
  kind: SampleKind;
  index: number;
  turns: ScreenedTurn[];
}

export class FilterChain {
  private readonly unsafe: UnsafeWords;
  private readonly exact = new Set<string>();
  private readonly near: MinHashIndex;
  private readonly questions: InstructionMemory;
  private counts: FilterStats = emptyFilterStats();
  /** What the last apply() rejected, in order. */
  lastRejections: Rejection[] = [];

  constructor(readonly config: FilterConfig) {
    this.unsafe = new UnsafeWords(config.unsafeWords);
    this.near = new MinHashIndex(config.nearDuplicateThreshold);
    this.questions = new InstructionMemory(config.instructionSimilarity);
  }

  /** Carries counts over from a previous run of the same job. */
  loadStats(stats: FilterStats): void {
    this.counts = structuredClone(stats);
  }

  stats(): FilterStats {
    return structuredClone(this.counts);
  }

  /**
   * Filters a draft against everything kept so far; returns what survives (and remembers it) or
   * undefined. `known` holds the noun lemmas the item's captions and boxes mention.
   */
  apply(draft: Draft, known: ReadonlySet<string>, mediaGroup: string): Draft | undefined {
    return this.admit(this.screen(draft, known), mediaGroup);
  }

  /** The draft-local turn filters: marks the turns they drop. Touches neither memory nor counts. */
  screen(draft: Draft, known: ReadonlySet<string>): ScreenedDraft {
    return {
      kind: draft.kind,
      index: draft.index,
      turns: draft.turns.map((turn) => {
        const rejected = this.checkTurn(turn, known);
        return rejected ? { ...turn, rejected } : { ...turn };
      }),
    };
  }

  /**
   * Applies what depends on the samples kept before (similar instruction, duplicates) to a
   * screened draft, counts every removal of both steps, and returns what survives (remembering
   * it) or undefined. Drafts must come in dataset order: the result depends on what came before.
   */
  admit(screened: ScreenedDraft, mediaGroup: string): Draft | undefined {
    this.lastRejections = [];
    this.counts.considered.samples++;
    this.counts.considered.turns += screened.turns.length;
    const itemQuestions = new InstructionMemory(this.config.instructionSimilarity);
    const kept: DraftTurn[] = [];
    let lastBlame: FilterName | undefined;
    for (const { rejected, ...turn } of screened.turns) {
      const rejection = rejected ?? this.checkNovelty(turn, itemQuestions);
      if (rejection) {
        this.count(rejection, 'turns');
        lastBlame = rejection.filter;
        continue;
      }
      if (!turn.pooled) itemQuestions.add(words(turn.question));
      kept.push(turn);
    }
    if (kept.length === 0) {
      if (lastBlame) this.counts.removed[lastBlame]!.samples++;
      return undefined;
    }
    const survivor = { kind: screened.kind, index: screened.index, turns: kept };
    const scope = this.scopeOf(mediaGroup, screened.kind);
    const duplicate = this.checkDuplicate(survivor, scope);
    if (duplicate) {
      this.count(duplicate, 'samples');
      return undefined;
    }
    this.commit(survivor, scope);
    this.counts.kept.samples++;
    this.counts.kept.turns += kept.length;
    return survivor;
  }

  /** Makes a stored sample count as seen (on resume), without touching the statistics. */
  remember(sample: Sample, mediaGroup: string): void {
    const pooled = sample.kind === 'brief' || sample.kind === 'detailed' || sample.kind === 'vqa';
    const turns: DraftTurn[] = [];
    for (let i = 0; i + 1 < sample.conversations.length; i += 2) {
      turns.push({
        question: stripMediaToken(sample.conversations[i].value),
        answer: sample.conversations[i + 1].value,
        pooled,
      });
    }
    this.commit({ kind: sample.kind, index: 0, turns }, this.scopeOf(mediaGroup, sample.kind));
  }

  /** The prefix that confines duplicate checks to one media group, or none in dataset scope. */
  private scopeOf(mediaGroup: string, kind: SampleKind): string {
    return this.config.duplicateScope === 'media' || !textOnlyDuplicates(kind) ? mediaGroup : '';
  }

  /** The turn filters that look at the turn alone. */
  private checkTurn(turn: DraftTurn, known: ReadonlySet<string>): Rejection | undefined {
    const c = this.config;
    const question = turn.question.trim();
    const answer = turn.answer.trim();
    if (!question || !answer)
      return { filter: 'empty', detail: !question ? 'empty question' : 'empty answer' };
    const answerWords = wordCount(answer);
    if (answerWords < c.minAnswerWords)
      return {
        filter: 'too_short',
        detail: `answer has ${answerWords} words, fewer than ${c.minAnswerWords}`,
      };
    if (answerWords > c.maxAnswerWords)
      return { filter: 'too_long', detail: `answer has ${answerWords} words, more than ${c.maxAnswerWords}` };
    const questionWords = wordCount(question);
    if (questionWords > c.maxQuestionWords)
      return {
        filter: 'too_long',
        detail: `question has ${questionWords} words, more than ${c.maxQuestionWords}`,
      };
    const unsafe = this.unsafe.find(`${question} ${answer}`);
    if (unsafe) return { filter: 'unsafe', detail: `contains "${unsafe}"` };
    if (isOffTarget(answer, c.language) || isOffTarget(question, c.language)) {
      return { filter: 'language', detail: `not in the target language ${c.language}` };
    }
    if (c.hedging) {
      const phrase = hedgingPhrase(answer);
      if (phrase) return { filter: 'hedging', detail: `answer hedges: "${phrase}"` };
    }
    if (c.grounding) {
      const invented = ungroundedNouns(answer, known);
      if (invented.length)
        return {
          filter: 'ungrounded',
          detail: `answer mentions ${invented.join(', ')}, absent from the captions`,
        };
    }
    return undefined;
  }

  /** similar_instruction: a generated question too close to an earlier one of the item (or dataset). */
  private checkNovelty(turn: DraftTurn, itemQuestions: InstructionMemory): Rejection | undefined {
    if (turn.pooled) return undefined;
    const q = words(turn.question.trim());
    const score =
      itemQuestions.tooSimilar(q) ??
      (this.config.instructionScope === 'dataset' ? this.questions.tooSimilar(q) : undefined);
    if (score === undefined) return undefined;
    return {
      filter: 'similar_instruction',
      detail: `question has ROUGE-L ${score.toFixed(2)} against an earlier one`,
    };
  }

  private checkDuplicate(draft: Draft, scope: string): Rejection | undefined {
    const text = conversationText(draft.turns);
    if (this.exact.has(scope + digest(text)))
      return { filter: 'exact_duplicate', detail: 'same text as an earlier sample' };
    if (!nearDuplicatesApply(draft.kind)) return undefined;
    const similarity = this.near.findSimilar(signature(shingleHashes(words(text))), scope);
    if (similarity !== undefined)
      return {
        filter: 'near_duplicate',
        detail: `estimated Jaccard ${similarity.toFixed(2)} against an earlier sample`,
      };
    return undefined;
  }

  private commit(draft: Draft, scope: string): void {
    const text = conversationText(draft.turns);
    this.exact.add(scope + digest(text));
    if (nearDuplicatesApply(draft.kind)) this.near.add(signature(shingleHashes(words(text))), scope);
    this.commitQuestions(draft.turns);
  }

  private commitQuestions(turns: DraftTurn[]): void {
    if (this.config.instructionScope !== 'dataset') return;
    for (const t of turns) if (!t.pooled) this.questions.add(words(t.question));
  }

  private count(rejection: Rejection, unit: 'turns' | 'samples'): void {
    this.lastRejections.push(rejection);
    const entry = this.counts.removed[rejection.filter] ?? { samples: 0, turns: 0 };
    entry[unit]++;
    this.counts.removed[rejection.filter] = entry;
  }
}

/** Short-answer samples are templated and differ by a few words; only exact copies are duplicates. */
function nearDuplicatesApply(kind: SampleKind): boolean {
  return kind !== 'vqa';
}

/**
 * Whether the text alone can make a sample a duplicate of another item's (`dataset` scope). Not for
 * vqa: "How many shapes are there? three" is true of many pictures and says nothing without one.
 */
function textOnlyDuplicates(kind: SampleKind): boolean {
  return kind !== 'vqa';
}

function conversationText(turns: DraftTurn[]): string {
  return turns.map((t) => `${t.question}\n${t.answer}`).join('\n');
}

function digest(text: string): string {
  return createHash('sha1').update(words(text).join(' ')).digest('base64');
}
