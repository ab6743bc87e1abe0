// The OpenAI-compatible routes under /v1: models (list, one), chat completions and plain
// completions, each streaming (SSE) or not. Handlers validate the body, check the model exists
// (404 before any media is fetched), turn messages into turns, and hand the job to Completions;
// a client that closes the connection aborts the job's signal, which stops generation. Errors
// thrown here are written in OpenAI's shape by the service's /v1 error formatter (errors.ts).
import { createHash, randomUUID } from 'node:crypto';
import type { Service } from '@mmit/service-kit';
import type { Bucket } from '@mmit/storage';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { ModelCatalog } from '../catalog/model-catalog.js';
import type { Turn } from '../engine/conversation.js';
import type { Prompt, ServedModel } from '../engine/served-model.js';
import type { MediaLimits } from '../media/media-inputs.js';
import { takeAdmission } from '../runtime/admission.js';
import type { CompletionEvent, Completions } from '../runtime/completions.js';
import { SERVE_VERSION } from '../version.js';
import { OpenAIError } from './errors.js';
import { toTurns } from './messages.js';
import {
  type ChatCompletionRequest,
  ChatCompletionRequestSchema,
  CompletionRequestSchema,
  usage,
} from './schemas.js';
import { ChunkWriter } from './sse.js';

export interface RouteDeps {
  catalog: ModelCatalog;
  /** Whether a model is loaded already (then it exists: no bucket round trip to check). */
  isLoaded: (id: string) => boolean;
  completions: Completions;
  bucket: Bucket | null;
  limits: MediaLimits & { maxAudioSeconds: number; maxItems: number };
  maxTokens: number;
}

/** Aborts when the client goes away before the response is complete. */
function abortOnClose(res: Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client closed the connection'));
  });
  return controller.signal;
}

type SamplingBody = Pick<
  ChatCompletionRequest,
  'max_tokens' | 'temperature' | 'top_p' | 'top_k' | 'seed' | 'stop'
> & {
  max_completion_tokens?: number | null;
};

function generateOptions(body: SamplingBody, ceiling: number) {
  const requested = body.max_completion_tokens ?? body.max_tokens ?? ceiling;
  if (requested > ceiling) {
    const param = body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';
    throw new OpenAIError(
      400,
      `${param} is ${requested}; this server allows at most ${ceiling}`,
      'invalid_request_error',
      param,
      'invalid_value',
    );
  }
  return {
    maxTokens: requested,
    stop: body.stop ?? [],
    sampling: {
      temperature: body.temperature ?? 1,
      topP: body.top_p ?? 1,
      topK: body.top_k ?? 0,
      ...(body.seed != null ? { seed: body.seed } : {}),
    },
  };
}

interface Shape {
  object: string;
  chunkObject: string;
  /** A choice for a full response or a chunk. */
  choice(text: string, finish: string | null, chunk: boolean, first: boolean): Record<string, unknown>;
}

const chatShape: Shape = {
  object: 'chat.completion',
  chunkObject: 'chat.completion.chunk',
  choice: (text, finish, chunk, first) =>
    chunk
      ? {
          index: 0,
          delta: first ? { role: 'assistant', content: text } : finish ? {} : { content: text },
          logprobs: null,
          finish_reason: finish,
        }
      : {
          index: 0,
          message: { role: 'assistant', content: text, refusal: null },
          logprobs: null,
          finish_reason: finish,
        },
};

const textShape: Shape = {
  object: 'text_completion',
  chunkObject: 'text_completion',
  choice: (text, finish) => ({ index: 0, text, logprobs: null, finish_reason: finish }),
};

/**
 * What OpenAI calls the backend configuration a model runs with: here the model and the serve
 * version, so a client sees when either changed (answers from one fingerprint are reproducible
 * with a seed).
 */
function systemFingerprint(model: string): string {
  return `fp_${createHash('sha256').update(`${model}\0${SERVE_VERSION}`).digest('hex').slice(0, 10)}`;
}

async function answer(
  res: Response,
  events: AsyncGenerator<CompletionEvent>,
  meta: { model: string; stream: boolean; includeUsage: boolean },
  shape: Shape,
): Promise<void> {
  const id = `${shape === chatShape ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const envelope = (object: string) => ({
    id,
    object,
    created,
    model: meta.model,
    system_fingerprint: systemFingerprint(meta.model),
  });
  // With include_usage, OpenAI sends usage: null on every chunk before the one that carries it.
  const chunkEnvelope = (object: string) => ({
    ...envelope(object),
    ...(meta.includeUsage ? { usage: null } : {}),
  });
  let promptTokens = 0;
  if (!meta.stream) {
    let text = '';
    for await (const event of events) {
      if (event.type === 'prompt') promptTokens = event.promptTokens;
      else if (event.type === 'delta') text += event.text;
      else {
        res.json({
          ...envelope(shape.object),
          choices: [shape.choice(text, event.finishReason, false, false)],
          usage: usage(promptTokens, event.completionTokens),
        });
      }
    }
    return;
  }
  const writer = new ChunkWriter(res);
  for await (const event of events) {
    if (!writer.open) continue; // the client left: let generation wind down (it sees the abort)
    if (event.type === 'prompt') {
      promptTokens = event.promptTokens;
      if (shape === chatShape)
        writer.write({ ...chunkEnvelope(shape.chunkObject), choices: [shape.choice('', null, true, true)] });
    } else if (event.type === 'delta') {
      writer.write({
        ...chunkEnvelope(shape.chunkObject),
        choices: [shape.choice(event.text, null, true, false)],
      });
    } else {
      writer.write({
        ...chunkEnvelope(shape.chunkObject),
        choices: [shape.choice('', event.finishReason, true, false)],
      });
      if (meta.includeUsage) {
        writer.write({
          ...envelope(shape.chunkObject),
          choices: [],
          usage: usage(promptTokens, event.completionTokens),
        });
      }
    }
  }
  writer.end();
}

const ModelSchema = z
  .object({ id: z.string(), object: z.literal('model'), created: z.number().int(), owned_by: z.string() })
  .meta({ id: 'Model' });
const ModelParams = z.object({ id: z.string().min(1).max(200) });
const tags = ['openai'];

/** OpenAI's error body (`{error: {message, type, param, code}}`), as every /v1 error is written. */
const openAIErrors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: 'An OpenAI-shaped error: {error: {message, type, param, code}}' },
    ]),
  );

const completionResponses = (object: string) => ({
  200: {
    description: `A ${object}; with stream: true, a text/event-stream of ${object}.chunk events ending in [DONE]`,
  },
  ...openAIErrors(400, 404, 429),
});

/**
 * Declares the OpenAI routes on the service (validated, and listed in its OpenAPI document), then
 * the /v1 fallback that answers unknown paths in OpenAI's shape.
 */
export function registerOpenAIRoutes(service: Service, deps: RouteDeps): void {
  service
    .route({
      method: 'get',
      path: '/v1/models',
      summary: 'The base model and every finished run',
      tags,
      responses: {
        200: {
          description: 'Models',
          schema: z.object({ object: z.literal('list'), data: z.array(ModelSchema) }),
        },
      },
      handler: async () => {
        const models = await deps.catalog.list();
        return {
          body: {
            object: 'list',
            data: models.map((m) => ({ id: m.id, object: 'model', created: m.created, owned_by: m.ownedBy })),
          },
        };
      },
    })
    .route({
      method: 'get',
      path: '/v1/models/:id',
      summary: 'One model',
      tags,
      request: { params: ModelParams },
      responses: { 200: { description: 'The model', schema: ModelSchema }, ...openAIErrors(404) },
      handler: async ({ params }) => {
        const found = (await deps.catalog.list()).find((m) => m.id === params.id);
        if (!found) await deps.catalog.require(params.id); // throws the 404 with the list
        const m = found ?? { id: params.id, created: 0, ownedBy: 'mmit-trainer' };
        return { body: { id: m.id, object: 'model', created: m.created, owned_by: m.ownedBy } };
      },
    })
    .route({
      method: 'post',
      path: '/v1/chat/completions',
      summary: 'A chat completion over text, images and audio (admission or 429 before the body is read)',
      tags,
      request: { body: ChatCompletionRequestSchema },
      responses: completionResponses('chat.completion'),
      handler: async ({ body, res }) => {
        const arrivedAt = performance.now();
        const options = generateOptions(body, deps.maxTokens);
        if (!deps.isLoaded(body.model)) await deps.catalog.require(body.model);
        const signal = abortOnClose(res);
        // Media are decoded only once the request is admitted (a 429 costs no decoding).
        let turns: Turn[] = [];
        const events = deps.completions.run({
          endpoint: 'chat.completions',
          model: body.model,
          arrivedAt,
          admission: takeAdmission(res),
          decode: async () => {
            turns = await toTurns(body.messages, { bucket: deps.bucket, limits: deps.limits });
          },
          prompt: (model: ServedModel): Promise<Prompt> => model.chatPrompt(turns),
          options,
          signal,
        });
        await answer(res, events, streamMeta(body), chatShape);
        return undefined;
      },
    })
    .route({
      method: 'post',
      path: '/v1/completions',
      summary: 'A plain text completion',
      tags,
      request: { body: CompletionRequestSchema },
      responses: completionResponses('text_completion'),
      handler: async ({ body, res }) => {
        const arrivedAt = performance.now();
        const options = generateOptions(body, deps.maxTokens);
        if (!deps.isLoaded(body.model)) await deps.catalog.require(body.model);
        const signal = abortOnClose(res);
        const text = typeof body.prompt === 'string' ? body.prompt : body.prompt[0];
        const events = deps.completions.run({
          endpoint: 'completions',
          model: body.model,
          arrivedAt,
          admission: takeAdmission(res),
          prompt: (model: ServedModel) => model.textPrompt(text),
          options,
          signal,
        });
        await answer(res, events, streamMeta(body), textShape);
        return undefined;
      },
    });

  service.router.use('/v1', (req: Request) => {
    throw new OpenAIError(
      404,
      `no route for ${req.method} /v1${req.path}`,
      'not_found_error',
      null,
      'unknown_url',
    );
  });
}

function streamMeta(body: {
  model: string;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
}) {
  return {
    model: body.model,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
  };
}
