// The request-independent shape of a conversation once media is fetched and decoded, and the
// errors a prompt can fail with. The HTTP layer turns OpenAI messages into this; the model turns
// it into token ids and embeddings.

export type ResolvedMedia =
  | { kind: 'image'; bytes: Uint8Array; param: string }
  | { kind: 'audio'; pcm: Float32Array; sampleRate: number; param: string };

export type ContentPiece = { type: 'text'; text: string } | { type: 'media'; media: ResolvedMedia };

export interface Turn {
  role: 'system' | 'user' | 'assistant';
  pieces: ContentPiece[];
}

/** A prompt the client got wrong; `param` names the request field (OpenAI's error `param`). */
export class PromptError extends Error {
  override name = 'PromptError';
  constructor(
    message: string,
    readonly param: string | null,
    readonly code: string,
  ) {
    super(message);
  }
}

export function countMedia(turns: Turn[]): number {
  return turns.reduce((n, t) => n + t.pieces.filter((p) => p.type === 'media').length, 0);
}
