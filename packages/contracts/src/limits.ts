// Default limits on what a user's text may be, shared by the services that enforce them (ingest
// at the door) and the code that must stay cheap up to them (synthesis is tested at these sizes).
// Each service exposes its own setting; these are only the defaults.

/** Longest caption ingest accepts, in characters (MMIT_INGEST_MAX_CAPTION_CHARS). */
export const DEFAULT_MAX_CAPTION_CHARS = 16_384;

/** Most captions one item may carry (MMIT_INGEST_MAX_CAPTIONS_PER_ITEM). */
export const DEFAULT_MAX_CAPTIONS_PER_ITEM = 64;

/** Deepest nesting of arrays and objects a JSON request body may have (MMIT_JSON_MAX_DEPTH). */
export const DEFAULT_MAX_JSON_DEPTH = 32;

/**
 * How deeply arrays and objects nest in a parsed JSON value (a scalar is 0, `[]` is 1), counted
 * without recursion so no input can exhaust the stack; stops counting once past `stopAfter`.
 */
export function jsonDepth(value: unknown, stopAfter = Number.POSITIVE_INFINITY): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (node === null || typeof node !== 'object') continue;
    const inside = depth + 1;
    if (inside > deepest) deepest = inside;
    if (deepest > stopAfter) return deepest;
    for (const child of Object.values(node)) pending.push([child, inside]);
  }
  return deepest;
}
