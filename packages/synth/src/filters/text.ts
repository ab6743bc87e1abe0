// Word-level text views shared by the filters: lower-case words, and word shingles.
import { hash32 } from '../random.js';

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu;

export function words(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

/** Hashes of the k-word shingles of a word list (the words themselves when there are fewer than k). */
export function shingleHashes(list: string[], k = 3): number[] {
  if (list.length < k) return list.length ? [hash32(list.join(' '))] : [];
  const out: number[] = [];
  for (let i = 0; i + k <= list.length; i++) out.push(hash32(list.slice(i, i + k).join(' ')));
  return out;
}
