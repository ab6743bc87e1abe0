// OpenAI chat messages to the engine's turns: `developer` is read as `system` (the role newer
// models use for it), assistant turns keep their text, and media parts are fetched and decoded
// (media-inputs.ts) with their request path as the error's `param` (`messages.0.content.1`).
import type { Bucket } from '@mmit/storage';
import { type ContentPiece, PromptError, type Turn } from '../engine/conversation.js';
import { type MediaLimits, resolveAudio, resolveImage } from '../media/media-inputs.js';
import type { ChatMessage, ContentPart } from './schemas.js';

export interface MessageContext {
  bucket: Bucket | null;
  limits: MediaLimits & { maxAudioSeconds: number; maxItems: number };
}

function mediaCount(messages: ChatMessage[]): number {
  return messages.reduce(
    (n, m) => n + (Array.isArray(m.content) ? m.content.filter((p) => p.type !== 'text').length : 0),
    0,
  );
}

async function piece(part: ContentPart, param: string, context: MessageContext): Promise<ContentPiece> {
  switch (part.type) {
    case 'text':
      return { type: 'text', text: part.text };
    case 'image_url':
      return {
        type: 'media',
        media: await resolveImage(
          context.bucket,
          part.image_url.url,
          `${param}.image_url.url`,
          context.limits,
        ),
      };
    case 'input_audio':
      return {
        type: 'media',
        media: await resolveAudio(
          part.input_audio.data,
          part.input_audio.format,
          `${param}.input_audio`,
          context.limits,
        ),
      };
  }
}

export async function toTurns(messages: ChatMessage[], context: MessageContext): Promise<Turn[]> {
  const items = mediaCount(messages);
  if (items > context.limits.maxItems) {
    throw new PromptError(
      `the request holds ${items} images/audio clips; the limit is ${context.limits.maxItems}`,
      'messages',
      'too_many_media',
    );
  }
  return Promise.all(
    messages.map(async (message, i): Promise<Turn> => {
      const role = message.role === 'developer' ? 'system' : message.role;
      const content = message.content ?? '';
      if (typeof content === 'string') return { role, pieces: [{ type: 'text', text: content }] };
      if (role !== 'user' && content.some((p) => p.type !== 'text')) {
        throw new PromptError(
          `only user messages may hold images or audio (message ${i} is ${message.role})`,
          `messages.${i}.content`,
          'invalid_content',
        );
      }
      const pieces = await Promise.all(
        content.map((part, k) => piece(part, `messages.${i}.content.${k}`, context)),
      );
      return { role, pieces };
    }),
  );
}
