// The OpenAI request bodies this server accepts (the subset it implements, validated strictly
// enough that a wrong type is a 400 naming the field) and the response objects it returns.
// Fields it does not implement are refused when they would change the answer (n > 1, tools,
// logprobs) and ignored when they would not (user, metadata, store).
import { z } from 'zod';

const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const ImagePart = z.object({
  type: z.literal('image_url'),
  image_url: z.object({ url: z.string().min(1), detail: z.enum(['auto', 'low', 'high']).optional() }),
});
const AudioPart = z.object({
  type: z.literal('input_audio'),
  input_audio: z.object({ data: z.string().min(1), format: z.enum(['wav', 'mp3', 'flac']) }),
});
export const ContentPartSchema = z.discriminatedUnion('type', [TextPart, ImagePart, AudioPart]);
export type ContentPart = z.infer<typeof ContentPartSchema>;

const Content = z.union([z.string(), z.array(ContentPartSchema).min(1)]);

export const ChatMessageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: Content, name: z.string().optional() }),
  z.object({ role: z.literal('developer'), content: Content, name: z.string().optional() }),
  z.object({ role: z.literal('user'), content: Content, name: z.string().optional() }),
  z.object({
    role: z.literal('assistant'),
    content: Content.nullable().optional(),
    name: z.string().optional(),
  }),
]);
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

const Stop = z
  .union([z.string().min(1), z.array(z.string().min(1)).max(4)])
  .nullable()
  .optional()
  .transform((s) => (s == null ? [] : typeof s === 'string' ? [s] : s));

const sampling = {
  max_tokens: z.number().int().min(1).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().gt(0).max(1).nullable().optional(),
  /** Not in OpenAI's API; vLLM and llama.cpp accept it under this name. */
  top_k: z.number().int().min(0).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  stop: Stop,
  n: z.literal(1, { message: 'only n=1 is supported' }).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  user: z.string().optional(),
};

/** As OpenAI: stream_options only mean something for a streamed answer, so alone they are refused. */
function streamOptionsNeedStream(
  body: { stream?: boolean | null; stream_options?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (body.stream_options != null && body.stream !== true) {
    ctx.addIssue({
      code: 'custom',
      path: ['stream_options'],
      message: 'stream_options are only allowed when stream is true',
    });
  }
}

export const ChatCompletionRequestSchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(ChatMessageSchema).min(1, { message: 'messages must hold at least one message' }),
    max_completion_tokens: z.number().int().min(1).nullable().optional(),
    ...sampling,
    logprobs: z.literal(false).nullable().optional(),
    tools: z.array(z.unknown()).max(0, { message: 'tools are not supported' }).optional(),
  })
  .superRefine(streamOptionsNeedStream);
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

export const CompletionRequestSchema = z
  .object({
    model: z.string().min(1),
    prompt: z.union([z.string().min(1), z.array(z.string().min(1)).length(1)]),
    ...sampling,
    echo: z.literal(false).nullable().optional(),
    logprobs: z.null().optional(),
  })
  .superRefine(streamOptionsNeedStream);
export type CompletionRequest = z.infer<typeof CompletionRequestSchema>;

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usage(prompt: number, completion: number): Usage {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
