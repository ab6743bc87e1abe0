// The playground's side of the OpenAI chat API: attachments as content parts (an image as a data
// URL, audio as base64 `input_audio`), and a streamed answer read chunk by chunk.
import { apiFetch } from '../../api/client.js';
import { readEventStream } from '../../api/event-stream.js';
import type { ChatChunk } from '../../api/types.js';

export type Attachment =
  | { kind: 'image'; name: string; dataUrl: string }
  | { kind: 'audio'; name: string; base64: string; format: 'wav' | 'mp3' | 'flac'; dataUrl: string };

type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string } }
  | { type: 'input_audio'; input_audio: { data: string; format: 'wav' | 'mp3' | 'flac' } };

export interface ChatTurn {
  role: 'user' | 'assistant';
  text: string;
  attachment?: Attachment;
}

const AUDIO_FORMATS = ['wav', 'mp3', 'flac'] as const;

export class AttachmentError extends Error {
  override name = 'AttachmentError';
}

function readAsDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(new AttachmentError(`could not read ${file.name}`));
    reader.readAsDataURL(file);
  });
}

export async function attachmentFrom(file: File): Promise<Attachment> {
  const dataUrl = await readAsDataUrl(file);
  if (file.type.startsWith('image/')) return { kind: 'image', name: file.name, dataUrl };
  const ext = file.name.split('.').pop()?.toLowerCase() ?? '';
  const format = AUDIO_FORMATS.find(
    (f) => f === ext || file.type === `audio/${f}` || (f === 'mp3' && file.type === 'audio/mpeg'),
  );
  if (!format) {
    throw new AttachmentError(
      `${file.name} is neither an image nor audio the API takes (audio formats: ${AUDIO_FORMATS.join(', ')})`,
    );
  }
  return { kind: 'audio', name: file.name, format, base64: dataUrl.slice(dataUrl.indexOf(',') + 1), dataUrl };
}

function toMessage(turn: ChatTurn) {
  if (turn.role === 'assistant' || !turn.attachment) return { role: turn.role, content: turn.text };
  const media: ContentPart =
    turn.attachment.kind === 'image'
      ? { type: 'image_url', image_url: { url: turn.attachment.dataUrl } }
      : {
          type: 'input_audio',
          input_audio: { data: turn.attachment.base64, format: turn.attachment.format },
        };
  const parts: ContentPart[] = [media];
  if (turn.text) parts.push({ type: 'text', text: turn.text });
  return { role: 'user', content: parts };
}

export interface StreamOptions {
  model: string;
  system: string;
  turns: ChatTurn[];
  maxTokens: number;
  temperature: number;
  signal: AbortSignal;
  onText: (text: string) => void;
}

/** Streams one answer; resolves with the finish reason and token usage when the stream ends. */
export async function streamChat(
  options: StreamOptions,
): Promise<{ finishReason: string | null; usage?: ChatChunk['usage'] }> {
  const messages = [
    ...(options.system.trim() ? [{ role: 'system', content: options.system.trim() }] : []),
    ...options.turns.map(toMessage),
  ];
  const res = await apiFetch('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({
      model: options.model,
      messages,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: options.maxTokens,
      temperature: options.temperature,
    }),
    signal: options.signal,
  });
  let finishReason: string | null = null;
  let usage: ChatChunk['usage'];
  for await (const message of readEventStream(res)) {
    if (message.data === '[DONE]') break;
    const chunk = JSON.parse(message.data) as ChatChunk;
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (choice.delta.content) options.onText(choice.delta.content);
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
  }
  return { finishReason, usage };
}
