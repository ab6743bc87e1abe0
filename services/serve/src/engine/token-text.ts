// What logprobs report for one token: its text and its exact bytes. A token of a byte-level BPE
// (GPT-2's scheme, which Llama 3, Qwen2 and SmolLM use) may hold part of a UTF-8 character, so
// its text alone (with U+FFFD) loses information; OpenAI's `bytes` carries it. Bytes come from
// the vocabulary entry through GPT-2's byte-to-character table; for other tokenizers (and added
// tokens) they are the UTF-8 of the decoded text.
import type { Tokenizer } from '@mmit/models';

/** GPT-2's bytes_to_unicode, inverted: the character a byte-level vocabulary uses -> the byte. */
function byteLevelDecoder(): Map<string, number> {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const map = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const code = printable.includes(b) ? b : 256 + extra++;
    map.set(String.fromCodePoint(code), b);
  }
  return map;
}

export interface TokenText {
  text: string;
  bytes: number[];
}

export type TokenTexts = (id: number) => TokenText;

export function tokenTexts(tokenizer: Tokenizer): TokenTexts {
  // transformers.js keeps the parsed tokenizer.json; its vocabulary is the only place raw pieces live.
  const json = (tokenizer.raw as unknown as { _tokenizerJSON?: TokenizerJson })._tokenizerJSON;
  const byteLevel = json?.decoder?.type === 'ByteLevel' && json.model?.vocab;
  const pieces = new Map<number, string>();
  if (byteLevel && json.model?.vocab) {
    for (const [piece, id] of Object.entries(json.model.vocab)) pieces.set(id, piece);
  }
  const special = new Set((json?.added_tokens ?? []).map((t) => t.id));
  const decoder = byteLevel ? byteLevelDecoder() : null;
  const cache = new Map<number, TokenText>();
  return (id) => {
    let found = cache.get(id);
    if (found) return found;
    const text = tokenizer.decode([id], { skipSpecialTokens: false });
    const piece = pieces.get(id);
    let bytes: number[] | null = null;
    if (decoder && piece !== undefined && !special.has(id)) {
      bytes = [];
      for (const ch of piece) {
        const b = decoder.get(ch);
        if (b === undefined) {
          bytes = null;
          break;
        }
        bytes.push(b);
      }
    }
    found = { text, bytes: bytes ?? [...Buffer.from(text, 'utf8')] };
    cache.set(id, found);
    return found;
  };
}

interface TokenizerJson {
  decoder?: { type?: string } | null;
  model?: { vocab?: Record<string, number> };
  added_tokens?: { id: number }[];
}
