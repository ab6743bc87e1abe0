// Conversation -> token ids with one media token per image/audio item, the way the trainer laid
// samples out (packages/train/src/template.ts): `chat` renders the LM's chat template with the
// media token in the user turn (`<image>\nquestion`), `plain` (LLaVA stage 1, captioning) is
// the tokenizer's leading specials followed by the media token alone. Media token strings typed
// by the user are removed first, so text can never claim feature rows.
import type { Tokenizer } from '@mmit/models';
import { type ContentPiece, PromptError, type ResolvedMedia, type Turn } from './conversation.js';

export interface PromptIds {
  ids: number[];
  /** The media items in the order their tokens appear in `ids`. */
  media: ResolvedMedia[];
}

export interface PromptFormat {
  template: 'chat' | 'plain';
  /** The token each media item's rows replace (null: a text-only model). */
  mediaToken: string | null;
}

function pieceText(piece: ContentPiece, format: PromptFormat): string {
  if (piece.type === 'media') return format.mediaToken ?? '';
  return format.mediaToken ? piece.text.split(format.mediaToken).join('') : piece.text;
}

function renderChat(tokenizer: Tokenizer, turns: Turn[], format: PromptFormat): string {
  if (!tokenizer.chatTemplate) {
    throw new PromptError(
      'this model has no chat template; send plain text to /v1/completions instead',
      'messages',
      'no_chat_template',
    );
  }
  const messages = turns.map((turn) => ({
    role: turn.role,
    content: turn.pieces.map((p) => pieceText(p, format)).join('\n'),
  }));
  return tokenizer.renderChat(messages, { addGenerationPrompt: true });
}

export function chatPromptIds(tokenizer: Tokenizer, turns: Turn[], format: PromptFormat): PromptIds {
  const media = turns.flatMap((t) => t.pieces.flatMap((p) => (p.type === 'media' ? [p.media] : [])));
  if (format.template === 'plain') {
    if (media.length !== 1 || !format.mediaToken) {
      throw new PromptError(
        `this run was trained with the plain (captioning) template: send exactly one image or audio item (got ${media.length}); its text is not used`,
        'messages',
        'invalid_media_count',
      );
    }
    const leading = tokenizer.encode('', { addSpecialTokens: true });
    return { ids: [...leading, tokenizer.tokenId(format.mediaToken)], media };
  }
  const ids = tokenizer.encode(renderChat(tokenizer, turns, format), { addSpecialTokens: false });
  if (format.mediaToken) {
    const tokenId = tokenizer.tokenId(format.mediaToken);
    const found = ids.filter((id) => id === tokenId).length;
    if (found !== media.length) {
      throw new PromptError(
        `the chat template kept ${found} of ${media.length} media tokens; it must not drop or add user content`,
        'messages',
        'template_mismatch',
      );
    }
  }
  return { ids, media };
}
