// The text the tiny LM is pretrained on, from the training split only: every short-answer
// question synth's vqa kind asks of each item's captions (the very questions the dataset will
// hold) and every caption as a brief description (synth's brief kind, LLaVA's stage-1 data), rendered with the trainer's own chat template code
// (@mmit/train's encodeChat, LLaVA-1.5's format prompt appended as synth's vqa kind does), with
// the media token expanded to one position per encoder row. Those positions hold slot rows
// (slots.ts) instead of a token's embedding: the LM learns to answer from rows shaped like the
// ones the projector will later put there. Targets are the assistant turn (the answer), or every
// text token with `labelAll`; measured on 16 cores over 1500 steps, both learn the lookups at
// about the same rate, and answer-only targets keep the answer's gradient undiluted.
// Why descriptions: a projector trained from a random start through an LM that only answers
// short questions stayed at chance even on its training pictures (loss 2.3 after 3,000 steps,
// while a linear map fitted to the ideal rows scored 0.33 through the same LM): a short answer
// gives a row a gradient only once the LM already attends to it. A description names every
// cell's content in reading order, so each row gets a signal of its own from the first step;
// with descriptions in both the LM's corpus and the dataset the projector reached the fitted
// map's accuracy (seed 1, pictures only, 3,000 projector steps).
import { briefPool, hash32, vqaQuestions } from '@mmit/synth';
import { encodeChat } from '@mmit/train';
import type { PlannedItem, TaskPlan } from './generate.js';
import type { LmSequence } from './lm-pretrain.js';
import { FORMAT_PROMPT } from './questions.js';
import { AUDIO_ROWS, clipSlots, IMAGE_ROWS, sceneSlots } from './slots.js';
import type { ItemKind } from './task.js';

export const MEDIA_TOKEN: Record<ItemKind, string> = { image: '<image>', audio: '<audio>' };
export const MEDIA_ROWS: Record<ItemKind, number> = { image: IMAGE_ROWS, audio: AUDIO_ROWS };

/** The human turn of a short-answer sample, exactly as synth's vqa kind writes it. */
export function vqaPrompt(kind: ItemKind, question: string): string {
  return `${MEDIA_TOKEN[kind]}\n${question}\n${FORMAT_PROMPT}`;
}

/** The human turn of a brief description: an instruction from synth's pool, media token first. */
export function briefPrompt(kind: ItemKind, instruction: string): string {
  return `${MEDIA_TOKEN[kind]}\n${instruction}`;
}

export interface PretrainExample {
  item: PlannedItem;
  /** synth's sample kind: a short answer, or a caption as a brief description. */
  sample: 'vqa' | 'brief';
  /** The question (vqa) or the instruction (brief), and the answer. */
  question: { question: string; answer: string };
}

/** The whole human turn of an example, media token included, as synth writes it. */
export function humanTurn(example: PretrainExample): string {
  const { kind } = example.item;
  return example.sample === 'brief'
    ? briefPrompt(kind, example.question.question)
    : vqaPrompt(kind, example.question.question);
}

/**
 * Every caption of an item as a brief description. Each gets one of synth's brief instructions,
 * chosen by the item's name so the corpus is the same on every run.
 */
export function briefExamples(item: PlannedItem): PretrainExample[] {
  const pool = briefPool(item.kind);
  return item.captions.map((caption, k) => ({
    item,
    sample: 'brief' as const,
    question: { question: pool[(hash32(item.name) + k) % pool.length], answer: caption },
  }));
}

/** Every question synth asks of every training item's captions, and every caption as a description. */
export function pretrainExamples(plan: TaskPlan): PretrainExample[] {
  return plan.items
    .filter((item) => item.split === 'train')
    .flatMap((item) => [
      ...vqaQuestions(item.captions).map((question) => ({ item, sample: 'vqa' as const, question })),
      ...briefExamples(item),
    ]);
}

export function slotWordsOf(item: PlannedItem): string[][] {
  if (item.scene) return sceneSlots(item.scene);
  if (item.clip) return clipSlots(item.clip);
  throw new Error(`item ${item.name} has neither a scene nor a clip`);
}

export interface SlotTokenizer {
  eosTokenId: number | null;
  tokenId(token: string): number;
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  decode(ids: number[]): string;
  renderChat(
    messages: { role: string; content: string }[],
    options?: { addGenerationPrompt?: boolean },
  ): string;
}

/** ids and labels from the trainer's template; each media position gets its row's word ids. */
export function encodeForPretraining(
  tokenizer: SlotTokenizer,
  example: PretrainExample,
  labelAll = false,
): LmSequence {
  const { kind } = example.item;
  const mediaTokenId = tokenizer.tokenId(MEDIA_TOKEN[kind]);
  const encoded = encodeChat(
    tokenizer,
    [
      { from: 'human', value: humanTurn(example) },
      { from: 'gpt', value: example.question.answer },
    ],
    { imageToken: MEDIA_TOKEN[kind], imageTokenId: mediaTokenId, imageRows: MEDIA_ROWS[kind] },
  );
  const rows = slotWordsOf(example.item).map((words) => words.map((w) => tokenizer.tokenId(w)));
  let next = 0;
  const slots = encoded.inputIds.map((id) => (id === mediaTokenId ? rows[next++] : []));
  if (next !== rows.length) {
    throw new Error(`${example.item.name}: ${next} media positions for ${rows.length} slot rows`);
  }
  const media = encoded.inputIds.map((id) => id === mediaTokenId);
  const labels = labelAll ? encoded.inputIds.map((id, i) => (media[i] ? -100 : id)) : encoded.labels;
  return { ids: encoded.inputIds, labels, slots, media };
}
