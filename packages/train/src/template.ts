// Prompt templates: one conversation record to token ids and labels, with the `<image>` token
// expanded to one id per feature row (the step graph replaces each by a projected row).
// - plain (LLaVA stage 1, `preprocess_plain`): the human turn becomes the image tokens alone,
//   then the first answer and `\n`; loss on the answer and `\n`. A BOS the tokenizer adds comes first.
// - chat: the LM's own chat template over the whole conversation; loss on the assistant turns
//   only (each turn's rendered span up to and including the end-of-turn token). Spans are found
//   by rendering prefixes of the conversation, and the tokens of the pieces are checked to equal
//   the tokens of the whole text, so a template that tokenizes differently is an error, not a
//   silent mislabel.
import type { ChatMessage } from '@mmit/models';

export const IGNORE = -100;

export interface Turn {
  from: 'human' | 'gpt';
  value: string;
}

/** The tokenizer surface templates need (@mmit/models' Tokenizer has it). */
export interface TemplateTokenizer {
  readonly eosTokenId: number | null;
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  renderChat(messages: ChatMessage[], options?: { addGenerationPrompt?: boolean }): string;
}

export interface EncodedSample {
  inputIds: number[];
  labels: number[];
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

export interface TemplateOptions {
  imageToken: string;
  imageTokenId: number;
  /** Feature rows per sample: the image token becomes this many ids. */
  imageRows: number;
}

/** Replaces each `imageTokenId` by `rows` copies (labels there stay ignored). */
function expandImage(sample: EncodedSample, imageTokenId: number, rows: number): EncodedSample {
  const inputIds: number[] = [];
  const labels: number[] = [];
  sample.inputIds.forEach((id, i) => {
    const count = id === imageTokenId ? rows : 1;
    for (let k = 0; k < count; k++) {
      inputIds.push(id);
      labels.push(id === imageTokenId ? IGNORE : sample.labels[i]);
    }
  });
  return { inputIds, labels };
}

/** Tokens the tokenizer puts before any text (a BOS), found by encoding the empty string. */
function leadingSpecials(tokenizer: TemplateTokenizer): number[] {
  return tokenizer.encode('', { addSpecialTokens: true });
}

/** The prompt of a plain (captioning) sample: the leading specials, then the media token alone. */
export function plainPrompt(tokenizer: TemplateTokenizer, imageTokenId: number): number[] {
  return [...leadingSpecials(tokenizer), imageTokenId];
}

/**
 * A turn's content as training lays it out: one `<image>\n` per media item in front, then the
 * text with any media token the user typed removed (text can never claim feature rows).
 */
export function mediaFirstContent(text: string, mediaCount: number, imageToken: string): string {
  return `${imageToken}\n`.repeat(mediaCount) + text.split(imageToken).join('').trim();
}

export function encodePlain(
  tokenizer: TemplateTokenizer,
  turns: Turn[],
  options: TemplateOptions,
): EncodedSample {
  const answer = turns.find((t) => t.from === 'gpt');
  if (!answer) throw new TemplateError('the conversation has no gpt turn to use as the caption');
  const prefix = plainPrompt(tokenizer, options.imageTokenId);
  const target = tokenizer.encode(`${answer.value}\n`, { addSpecialTokens: false });
  return expandImage(
    { inputIds: [...prefix, ...target], labels: [...prefix.map(() => IGNORE), ...target] },
    options.imageTokenId,
    options.imageRows,
  );
}

/** LLaVA records as chat messages; the image token moves to the front of the first human turn. */
export function chatMessages(turns: Turn[], imageToken: string): ChatMessage[] {
  const messages = turns.map((t) => ({ role: t.from === 'human' ? 'user' : 'assistant', content: t.value }));
  const first = messages.findIndex((m) => m.role === 'user');
  if (first < 0) throw new TemplateError('the conversation has no human turn');
  return messages.map((m, i) => ({
    ...m,
    content: mediaFirstContent(m.content, i === first ? 1 : 0, imageToken),
  }));
}

/** The rendered text cut into spans, each labelled (assistant) or not. */
export function chatSpans(
  tokenizer: TemplateTokenizer,
  messages: ChatMessage[],
  eosText: string | null,
): { text: string; labelled: boolean }[] {
  const full = tokenizer.renderChat(messages);
  const spans: { text: string; labelled: boolean }[] = [];
  let at = 0;
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const before = tokenizer.renderChat(messages.slice(0, i), { addGenerationPrompt: true });
    const through = tokenizer.renderChat(messages.slice(0, i + 1));
    if (!through.startsWith(before) || !full.startsWith(through) || before.length < at) {
      throw new TemplateError(
        `the chat template does not render turn ${i} as a prefix of the conversation, so assistant tokens cannot be located`,
      );
    }
    let answer = through.slice(before.length);
    // Train on the end-of-turn token but not on the separator the template puts after it.
    const end = eosText ? answer.lastIndexOf(eosText) : -1;
    if (end >= 0) answer = answer.slice(0, end + eosText!.length);
    spans.push({ text: full.slice(at, before.length), labelled: false });
    spans.push({ text: answer, labelled: true });
    at = before.length + answer.length;
  });
  spans.push({ text: full.slice(at), labelled: false });
  return spans.filter((s) => s.text.length > 0);
}

export function encodeChat(
  tokenizer: TemplateTokenizer & { decode(ids: number[]): string },
  turns: Turn[],
  options: TemplateOptions,
): EncodedSample {
  const messages = chatMessages(turns, options.imageToken);
  const eosText = tokenizer.eosTokenId === null ? null : tokenizer.decode([tokenizer.eosTokenId]);
  const spans = chatSpans(tokenizer, messages, eosText);
  const inputIds: number[] = [];
  const labels: number[] = [];
  for (const span of spans) {
    const ids = tokenizer.encode(span.text, { addSpecialTokens: false });
    inputIds.push(...ids);
    labels.push(...(span.labelled ? ids : ids.map(() => IGNORE)));
  }
  const whole = tokenizer.encode(spans.map((s) => s.text).join(''), { addSpecialTokens: false });
  if (whole.length !== inputIds.length || whole.some((id, i) => id !== inputIds[i])) {
    throw new TemplateError(
      'tokenizing the assistant spans apart gives other tokens than tokenizing the whole conversation; this tokenizer merges across turn boundaries',
    );
  }
  const images = inputIds.filter((id) => id === options.imageTokenId).length;
  if (images !== 1) {
    throw new TemplateError(
      `the rendered conversation holds ${images} image tokens; exactly one is supported`,
    );
  }
  return expandImage({ inputIds, labels }, options.imageTokenId, options.imageRows);
}

export type TruncateOutcome =
  | { sample: EncodedSample; truncated: boolean }
  | { sample: null; reason: string };

/**
 * Cuts a sample to `maxLength` tokens from the right. A sample whose image block does not fit
 * whole, or that keeps no labelled token, is dropped with the reason.
 */
export function truncate(sample: EncodedSample, maxLength: number, imageTokenId: number): TruncateOutcome {
  if (sample.inputIds.length <= maxLength) return { sample, truncated: false };
  const kept = { inputIds: sample.inputIds.slice(0, maxLength), labels: sample.labels.slice(0, maxLength) };
  const imagesKept = kept.inputIds.filter((id) => id === imageTokenId).length;
  const imagesAll = sample.inputIds.filter((id) => id === imageTokenId).length;
  if (imagesKept !== imagesAll)
    return { sample: null, reason: `image tokens do not fit in ${maxLength} tokens` };
  // The first token is never a target (the loss is shifted), so count labels after it.
  if (!kept.labels.slice(1).some((l) => l !== IGNORE)) {
    return { sample: null, reason: `no labelled token left within ${maxLength} tokens` };
  }
  return { sample: kept, truncated: true };
}
