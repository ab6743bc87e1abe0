// Conversation -> token ids with one media token per image/audio item, laid out by the trainer's
// own template code (@mmit/train's template.ts), so a served prompt is shaped like the samples
// the run learned from: `chat` renders the LM's chat template with each turn's media tokens in
// front of its text (`<image>\nquestion`, wherever the client put the image), `plain` (LLaVA
// stage 1, captioning) is the tokenizer's leading specials followed by the media token alone.
// Media token strings typed by the user are removed, so text can never claim feature rows.
import type { Tokenizer } from '@mmit/models';
import { mediaFirstContent, plainPrompt } from '@mmit/train';
import { PromptError, type ResolvedMedia, type Turn } from './conversation.js';

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

function renderChat(tokenizer: Tokenizer, turns: Turn[], format: PromptFormat): string {
  if (!tokenizer.chatTemplate) {
    throw new PromptError(
      'this model has no chat template; send plain text to /v1/completions instead',
      'messages',
      'no_chat_template',
    );
  }
  const messages = turns.map((turn) => {
    const text = turn.pieces.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('\n');
    const media = turn.pieces.length - turn.pieces.filter((p) => p.type === 'text').length;
    return {
      role: turn.role,
      content: format.mediaToken ? mediaFirstContent(text, media, format.mediaToken) : text,
    };
  });
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
    return { ids: plainPrompt(tokenizer, tokenizer.tokenId(format.mediaToken)), media };
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
