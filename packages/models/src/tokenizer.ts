// Tokenizers and chat templates through @huggingface/transformers, loaded from a local folder.
// We read the files ourselves (no env/global state, no network) and pick the tokenizer class the
// way AutoTokenizer does (`tokenizer_config.tokenizer_class`, "Fast" suffix dropped, base class
// otherwise). transformers 5 saves the chat template to `chat_template.jinja` and
// @huggingface/transformers 4.3.1 does not read it, so that file wins over the config's key.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as hf from '@huggingface/transformers';

export class TokenizerNotFoundError extends Error {
  override name = 'TokenizerNotFoundError';
}

export interface ChatMessage {
  role: string;
  content: string;
}

/** The tokenizer surface the project uses: plain ids in, plain ids out. */
export interface Tokenizer {
  readonly raw: hf.PreTrainedTokenizer;
  readonly chatTemplate: string | null;
  readonly eosTokenId: number | null;
  readonly padTokenId: number | null;
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  decode(ids: number[], options?: { skipSpecialTokens?: boolean }): string;
  tokenId(token: string): number;
  renderChat(messages: ChatMessage[], options?: { addGenerationPrompt?: boolean }): string;
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

type TokenizerClass = new (json: unknown, config: unknown) => hf.PreTrainedTokenizer;

function tokenizerClassFor(config: Record<string, unknown>): TokenizerClass {
  const name = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : '';
  const candidate = (hf as unknown as Record<string, unknown>)[name];
  const isTokenizerClass =
    typeof candidate === 'function' &&
    (candidate === hf.PreTrainedTokenizer || candidate.prototype instanceof hf.PreTrainedTokenizer);
  return (isTokenizerClass ? candidate : hf.PreTrainedTokenizer) as TokenizerClass;
}

/** Loads `tokenizer.json` + `tokenizer_config.json` (+ `chat_template.jinja`) from `dir`. */
export function loadTokenizer(dir: string): Tokenizer {
  const jsonPath = join(dir, 'tokenizer.json');
  if (!existsSync(jsonPath)) {
    throw new TokenizerNotFoundError(`${dir} has no tokenizer.json (only fast tokenizers are supported)`);
  }
  const configPath = join(dir, 'tokenizer_config.json');
  const config = existsSync(configPath) ? readJson(configPath) : {};
  const templatePath = join(dir, 'chat_template.jinja');
  if (existsSync(templatePath)) config.chat_template = readFileSync(templatePath, 'utf8');
  const Cls = tokenizerClassFor(config);
  const raw = new Cls(readJson(jsonPath), config);
  const template = typeof config.chat_template === 'string' ? config.chat_template : null;
  const idOrNull = (id: number | undefined) => (typeof id === 'number' ? id : null);
  return {
    raw,
    chatTemplate: template,
    eosTokenId: idOrNull(raw.eos_token_id),
    padTokenId: idOrNull(raw.pad_token_id),
    encode: (text, options = {}) =>
      Array.from(raw.encode(text, { add_special_tokens: options.addSpecialTokens ?? true })),
    // transformers.js throws on an empty list where Python's decode([]) gives '': a model whose first
    // generated token is end-of-sequence must answer with an empty string, not fail the request.
    decode: (ids, options = {}) =>
      ids.length === 0 ? '' : raw.decode(ids, { skip_special_tokens: options.skipSpecialTokens ?? false }),
    tokenId(token) {
      const id = raw.get_vocab().get(token);
      if (id === undefined)
        throw new TokenizerNotFoundError(`token ${JSON.stringify(token)} is not in the vocabulary`);
      return id;
    },
    renderChat(messages, options = {}) {
      if (template === null && !raw.chat_template) {
        throw new TokenizerNotFoundError(
          `${dir} has no chat template (chat_template.jinja or tokenizer_config.json)`,
        );
      }
      return raw.apply_chat_template(messages, {
        tokenize: false,
        add_generation_prompt: options.addGenerationPrompt ?? false,
      }) as string;
    },
  };
}
