// A configurable unsafe-word list, matched as whole words or whole multi-word phrases (so "grape"
// never matches "rape"). The recipe schema refuses lists that contain words naming the medium.
import { words } from './text.js';

export class UnsafeWords {
  private readonly single = new Set<string>();
  private readonly phrases: string[][] = [];

  constructor(list: readonly string[]) {
    for (const entry of list) {
      const w = words(entry);
      if (w.length === 1) this.single.add(w[0]);
      else if (w.length > 1) this.phrases.push(w);
    }
  }

  /** The first listed word or phrase in a text, or undefined. */
  find(text: string): string | undefined {
    const list = words(text);
    for (const w of list) if (this.single.has(w)) return w;
    for (const phrase of this.phrases) {
      for (let i = 0; i + phrase.length <= list.length; i++) {
        if (phrase.every((p, k) => list[i + k] === p)) return phrase.join(' ');
      }
    }
    return undefined;
  }
}
