// The OpenAI request bodies this server accepts (validated strictly enough that a wrong type is a
// 400 naming the field) and the response objects it returns. Fields it does not implement are
// declared too, so they reach the handler and are refused there (unsupported.ts) when they would
// change the answer (tools, json response formats, audio output); fields that would not change it
// (user, metadata, store, service_tier) are dropped.
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

/** Most choices (n) one request may ask for: each is a row of the batch. */
export const MAX_N = 16;
/** Most alternatives per token (OpenAI's top_logprobs limit). */
export const MAX_TOP_LOGPROBS = 20;
/** Most prompts in one completions request (each answered n times, in turn). */
export const MAX_PROMPTS = 16;

const sampling = {
  max_tokens: z.number().int().min(1).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().gt(0).max(1).nullable().optional(),
  /** Not in OpenAI's API; vLLM and llama.cpp accept it under this name. */
  top_k: z.number().int().min(0).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  stop: Stop,
  n: z
    .number()
    .int()
    .min(1)
    .max(MAX_N, { message: `at most ${MAX_N} choices per request` })
    .nullable()
    .optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  logit_bias: z
    .record(z.string().regex(/^\d+$/, { message: 'keys are token ids' }), z.number().min(-100).max(100))
    .nullable()
    .optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  user: z.string().optional(),
};

/** OpenAI's fields this server does not implement; declared so they are refused, not dropped. */
const unimplemented = {
  tools: z.array(z.unknown()).nullable().optional(),
  tool_choice: z.unknown().optional(),
  functions: z.array(z.unknown()).nullable().optional(),
  function_call: z.unknown().optional(),
  audio: z.unknown().optional(),
  modalities: z.array(z.string()).nullable().optional(),
  prediction: z.unknown().optional(),
  web_search_options: z.unknown().optional(),
  reasoning_effort: z.unknown().optional(),
  response_format: z
    .object({ type: z.enum(['text', 'json_object', 'json_schema']) })
    .loose()
    .nullable()
    .optional(),
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
    ...unimplemented,
    logprobs: z.boolean().nullable().optional(),
    top_logprobs: z.number().int().min(0).max(MAX_TOP_LOGPROBS).nullable().optional(),
  })
  .superRefine(streamOptionsNeedStream)
  .superRefine((body, ctx) => {
    // As OpenAI: alternatives only come with the tokens' own logprobs.
    if (body.top_logprobs != null && body.logprobs !== true) {
      ctx.addIssue({
        code: 'custom',
        path: ['top_logprobs'],
        message: 'top_logprobs needs logprobs: true',
      });
    }
  });
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

const TokenId = z.number().int().min(0);

/** The prompts of a completions request, each as text or as token ids. */
export function promptList(prompt: CompletionRequest['prompt']): (string | number[])[] {
  if (typeof prompt === 'string') return [prompt];
  if (prompt.every((p) => typeof p === 'number')) return [prompt as number[]];
  return prompt as (string | number[])[];
}

export const CompletionRequestSchema = z
  .object({
    model: z.string().min(1),
    /** One prompt or several, each text or token ids (OpenAI's four forms). */
    prompt: z.union([
      z.string().min(1),
      z.array(z.string().min(1)).min(1).max(MAX_PROMPTS),
      z.array(TokenId).min(1),
      z.array(z.array(TokenId).min(1)).min(1).max(MAX_PROMPTS),
    ]),
    ...sampling,
    echo: z.boolean().nullable().optional(),
    /** Completions' logprobs is a count of alternatives per token (0: the tokens' own only). */
    logprobs: z.number().int().min(0).max(MAX_TOP_LOGPROBS).nullable().optional(),
    best_of: z.number().int().min(1).nullable().optional(),
    suffix: z.string().nullable().optional(),
  })
  .superRefine(streamOptionsNeedStream);
export type CompletionRequest = z.infer<typeof CompletionRequestSchema>;

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; audio_tokens?: number };
  completion_tokens_details: { reasoning_tokens: number };
}

/**
 * OpenAI's usage. The details say what is true of this server: no prompt cache (cached_tokens 0),
 * no reasoning tokens; audio_tokens are the positions audio clips took in the prompt, when any did.
 */
export function usage(prompt: number, completion: number, audio = 0): Usage {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, ...(audio > 0 ? { audio_tokens: audio } : {}) },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
}
