// A word-level tokenizer for the tiny LM, saved as a real Hugging Face `tokenizer.json` so every
// service loads it the way it loads any checkpoint's tokenizer. @huggingface/transformers has no
// WordLevel model, so this is a WordPiece model whose vocabulary holds whole words only: each known
// word is one id, and the WordPiece decoder joins words with spaces and tidies punctuation.
// Lower-cased, split like the `Whitespace` pre-tokenizer (runs of word characters or of punctuation).
// The chat template is ChatML, with the `<image>`/`<audio>` specials the trainer expands.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SPECIAL_TOKENS = [
  '<|endoftext|>',
  '<|im_start|>',
  '<|im_end|>',
  '<image>',
  '<audio>',
  '<pad>',
  '[UNK]',
] as const;

export const CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/** The words the Whitespace pre-tokenizer would cut `text` into, lower-cased. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/\w+|[^\w\s]+/g) ?? [];
}

/** Special tokens first (ids 0-6), then every word of `texts` and of the chat roles, sorted. */
export function wordVocabulary(texts: Iterable<string>): string[] {
  const seen = new Set<string>(['user', 'assistant', 'system']);
  for (const text of texts) for (const w of words(text)) seen.add(w);
  for (const special of SPECIAL_TOKENS) seen.delete(special);
  return [...SPECIAL_TOKENS, ...[...seen].sort()];
}

function tokenizerJson(vocabulary: string[]): unknown {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocabulary.map((w, i) => [w, i])),
    },
  };
}

/** Writes tokenizer.json, tokenizer_config.json and chat_template.jinja into `dir`. */
export function writeWordTokenizer(dir: string, vocabulary: string[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson(vocabulary)));
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: null,
    eos_token: '<|im_end|>',
    pad_token: '<pad>',
    unk_token: '[UNK]',
    extra_special_tokens: ['<image>', '<audio>'],
    model_max_length: 512,
  };
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(dir, 'chat_template.jinja'), CHAT_TEMPLATE);
}
