// `mmit chat --model <run> [--image cat.jpg] [--audio clip.wav] "question"`: asks the serving
// service (OpenAI-compatible /v1/chat/completions) and prints the answer as it streams. Local
// files travel inline as base64 data; a URL or bucket key given to --image is passed through as
// is. Talks plain HTTP + SSE so the CLI needs no OpenAI client.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { clientOf, type ServiceUrl } from '../client.js';
import { type ApiClient, serverSentEvents } from '../http-client.js';

interface ChatOptions {
  model: string;
  image: string[];
  audio?: string;
  system?: string;
  maxTokens?: string;
  temperature?: string;
  seed?: string;
}

const SERVE_URL: ServiceUrl = { option: 'serveUrl', env: 'MMIT_SERVE_URL' };

class ChatError extends Error {
  override name = 'ChatError';
}

const IMAGE_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.avif': 'image/avif',
};
const AUDIO_FORMATS: Record<string, string> = { '.wav': 'wav', '.mp3': 'mp3', '.flac': 'flac' };

async function imagePart(source: string) {
  if (/^(https?:|data:|s3:)/.test(source) || source.startsWith('media/')) {
    return { type: 'image_url', image_url: { url: source } };
  }
  const mime = IMAGE_TYPES[extname(source).toLowerCase()];
  if (!mime)
    throw new ChatError(`${source}: unknown image type; use one of ${Object.keys(IMAGE_TYPES).join(', ')}`);
  const bytes = await readFile(source);
  return { type: 'image_url', image_url: { url: `data:${mime};base64,${bytes.toString('base64')}` } };
}

async function audioPart(path: string) {
  const format = AUDIO_FORMATS[extname(path).toLowerCase()];
  if (!format)
    throw new ChatError(`${path}: unknown audio type; use one of ${Object.keys(AUDIO_FORMATS).join(', ')}`);
  return { type: 'input_audio', input_audio: { data: (await readFile(path)).toString('base64'), format } };
}

async function chat(client: ApiClient, question: string, options: ChatOptions): Promise<void> {
  const content = [
    ...(await Promise.all(options.image.map(imagePart))),
    ...(options.audio ? [await audioPart(options.audio)] : []),
    { type: 'text', text: question },
  ];
  const body = {
    model: options.model,
    messages: [
      ...(options.system ? [{ role: 'system', content: options.system }] : []),
      { role: 'user', content },
    ],
    stream: true,
    stream_options: { include_usage: true },
    ...(options.maxTokens ? { max_tokens: Number(options.maxTokens) } : {}),
    ...(options.temperature ? { temperature: Number(options.temperature) } : {}),
    ...(options.seed ? { seed: Number(options.seed) } : {}),
  };
  const res = await client.request('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.body) throw new ChatError('the serving service answered without a body');
  let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
  let answered = false;
  let finish: string | undefined;
  for await (const { data } of serverSentEvents(res.body)) {
    if (data === '[DONE]') break;
    const chunk = JSON.parse(data) as {
      choices: { delta: { content?: string }; finish_reason?: string | null }[];
      usage?: { prompt_tokens: number; completion_tokens: number };
    };
    for (const choice of chunk.choices) {
      if (choice.delta.content) {
        process.stdout.write(choice.delta.content);
        answered ||= choice.delta.content.trim() !== '';
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  if (answered) process.stdout.write('\n');
  else {
    // A blank line reads as a hang or a lost answer; say what happened instead.
    const why =
      finish === 'length'
        ? 'it stopped at the token limit before any text (raise --max-tokens)'
        : 'it ended its answer at once (an undertrained run often does; check its loss with mmit train show)';
    process.stderr.write(`(the model gave an empty answer: ${why})\n`);
  }
  if (usage)
    process.stderr.write(`(${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion tokens)\n`);
}

export function registerChatCommands(program: Command): void {
  program
    .command('chat')
    .description('Ask a served model (a run id, a run name or a base model name) and stream the answer')
    .argument('<question>', 'what to ask')
    .requiredOption('--model <id>', 'run id, run name or base model name (see GET /v1/models)')
    .option(
      '--image <file-or-url>',
      'an image file, URL or bucket key (repeatable)',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option('--audio <file>', 'an audio file (wav, mp3, flac)')
    .option('--system <text>', 'a system message')
    .option('--max-tokens <n>', 'most tokens to generate')
    .option('--temperature <t>', 'sampling temperature (0 = greedy)')
    .option('--seed <n>', 'seed for reproducible sampling')
    .option('--serve-url <url>', 'base URL of the serving service (or MMIT_SERVE_URL; default --url)')
    .action(async (question: string, options: ChatOptions, command: Command) => {
      await chat(clientOf(command, SERVE_URL), question, options);
    });
}
