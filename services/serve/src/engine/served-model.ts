// A model ready to answer: tokenizer, the LM's embed/prefill/decode sessions (LoRA merged when
// the run has adapters), and for a tuned run the media encoder + projector. `prepare` turns a
// conversation into the prompt embeddings (media rows spliced in at their tokens, checked
// against the context length before any encoder runs when the row count is known); `generate`
// streams text deltas until EOS, a stop string, max tokens, the context end or an abort.
// n answers to one prompt are one batch of n identical rows (one prefill of n rows, then one
// decode step for all each token), each row with its own picker, text stream and stop; a row
// that has finished is fed its EOS until the others finish.
import {
  createPicker,
  type DecoderSessions,
  decodeSteps,
  embedIds,
  openDecoderSessions,
  releaseDecoderSessions,
  type SamplingParams,
  tokenLogprobs,
} from '@mmit/inference';
import {
  type Checkpoint,
  type LoraAdapters,
  languageModelFromCheckpoint,
  loadTokenizer,
  openCheckpointFolder,
  type Tokenizer,
  withMergedLora,
} from '@mmit/models';
import type { ExecutionProvider, HostTensor } from '@mmit/tensor';
import { PromptError, type ResolvedMedia, type Turn } from './conversation.js';
import {
  type EncoderSetup,
  type MediaEncoder,
  type MediaRows,
  type Modality,
  openMediaEncoder,
  type ProjectorSetup,
} from './media-encoder.js';
import { chatPromptIds, type PromptFormat } from './prompt.js';
import { TextStream } from './text-stream.js';
import { type TokenTexts, tokenTexts } from './token-text.js';

export interface ModelDefinition {
  id: string;
  lmDir: string;
  tokenizerDir: string;
  template: 'chat' | 'plain';
  lora?: LoraAdapters;
  media?: { encoder: EncoderSetup; projector: ProjectorSetup; token: string };
}

export interface Prompt {
  embeds: HostTensor;
  /** Prompt length in positions (text tokens + media rows). */
  tokens: number;
  /** Of those, the positions audio clips took (OpenAI's prompt_tokens_details.audio_tokens). */
  audioTokens: number;
  /** A text-only prompt as text: what completions' echo gives back (ids are decoded). */
  text?: string;
}

export interface GenerateOptions {
  maxTokens: number;
  sampling: SamplingParams;
  stop: string[];
  /** Answers to generate from the prompt (OpenAI's n); answer i draws with seed + i. */
  n: number;
  /** null: no logprobs; a number: report each token's logprob and that many top alternatives. */
  logprobs: number | null;
  signal?: AbortSignal;
}

export type FinishReason = 'stop' | 'length';

export interface TokenAlternative {
  id: number;
  text: string;
  bytes: number[];
  logprob: number;
}

/** One generated token with its logprob under the model and the most likely alternatives. */
export interface TokenLogprob extends TokenAlternative {
  top: TokenAlternative[];
}

export type GenerationEvent =
  /**
   * Final text of answer `index`, and the tokens whose text this delta completes (logprobs asked
   * for; a token whose text is held back, e.g. half a character, comes with a later delta).
   */
  | { type: 'delta'; index: number; text: string; tokens: TokenLogprob[] }
  | { type: 'finish'; index: number; finishReason: FinishReason; completionTokens: number }
  | {
      type: 'done';
      /** Over all answers (OpenAI's usage for n > 1). */
      completionTokens: number;
      /** performance.now() when the first token was picked (null: none was) and when generation ended. */
      firstTokenAt: number | null;
      finishedAt: number;
    };

/** One answer's progress inside a batch of n. */
interface Answer {
  pick: (logits: Float32Array) => number;
  stream: TextStream;
  tokens: number;
  pending: TokenLogprob[];
  finish: FinishReason | null;
}

export class ServedModel {
  private constructor(
    readonly id: string,
    readonly tokenizer: Tokenizer,
    private readonly sessions: DecoderSessions,
    readonly contextLength: number,
    readonly vocabSize: number,
    private readonly eos: Set<number>,
    private readonly format: PromptFormat,
    private readonly encoder: MediaEncoder | null,
  ) {
    this.texts = tokenTexts(tokenizer);
  }

  private readonly texts: TokenTexts;

  static async load(def: ModelDefinition, ep: ExecutionProvider, threads?: number): Promise<ServedModel> {
    const tokenizer = loadTokenizer(def.tokenizerDir);
    let checkpoint: Checkpoint = openCheckpointFolder(def.lmDir);
    if (def.lora) checkpoint = withMergedLora(checkpoint, def.lora);
    const lm = languageModelFromCheckpoint(checkpoint);
    let sessions: DecoderSessions;
    try {
      sessions = await openDecoderSessions(lm, ep, threads);
    } finally {
      // Weights now live in the sessions; the file handles are not needed any more.
      checkpoint.close();
    }
    const encoder = def.media
      ? await openMediaEncoder(def.media.encoder, def.media.projector, ep, threads)
      : null;
    const eos = new Set(lm.config.eosTokenIds);
    if (tokenizer.eosTokenId !== null) eos.add(tokenizer.eosTokenId);
    return new ServedModel(
      def.id,
      tokenizer,
      sessions,
      lm.config.maxPositionEmbeddings,
      lm.config.vocabSize,
      eos,
      { template: def.template, mediaToken: def.media?.token ?? null },
      encoder,
    );
  }

  /** What media this model takes (null: text only). */
  get modality(): Modality | null {
    return this.encoder?.modality ?? null;
  }

  /** Longest audio clip, in seconds (audio models). */
  get maxAudioSeconds(): number {
    return this.encoder && this.encoder.sampleRate > 0
      ? this.encoder.maxSamples / this.encoder.sampleRate
      : 0;
  }

  async chatPrompt(turns: Turn[]): Promise<Prompt> {
    const { ids, media } = chatPromptIds(this.tokenizer, turns, this.format);
    this.checkMedia(media);
    const textTokens = ids.length - media.length;
    const perItem = this.encoder?.rowsPerItem ?? null;
    if (perItem !== null)
      this.checkContext(textTokens + media.length * perItem, media.length, perItem, textTokens);
    const rows = await this.encodeMedia(media);
    const total = textTokens + rows.reduce((n, r) => n + r.rows, 0);
    this.checkContext(total, media.length, perItem, textTokens);
    const audioTokens = rows.reduce((n, r, i) => n + (media[i].kind === 'audio' ? r.rows : 0), 0);
    return { embeds: await this.splice(ids, rows), tokens: total, audioTokens };
  }

  /** A plain-text prompt (with the tokenizer's leading specials, as transformers encodes). */
  async textPrompt(text: string, param = 'prompt'): Promise<Prompt> {
    const prompt = await this.idsPrompt(this.tokenizer.encode(text, { addSpecialTokens: true }), param);
    return { ...prompt, text };
  }

  /** A prompt given as token ids (OpenAI's completions take those as they are). */
  async idsPrompt(ids: number[], param = 'prompt'): Promise<Prompt> {
    if (ids.length === 0) throw new PromptError('the prompt is empty', param, 'empty_prompt');
    const outside = ids.findIndex((id) => id >= this.vocabSize);
    if (outside >= 0) {
      throw new PromptError(
        `token id ${ids[outside]} at ${param}.${outside} is outside the model's vocabulary (0..${this.vocabSize - 1})`,
        `${param}.${outside}`,
        'invalid_value',
      );
    }
    this.checkContext(ids.length, 0, null, ids.length);
    return {
      embeds: await embedIds(this.sessions, ids),
      tokens: ids.length,
      audioTokens: 0,
      text: this.tokenizer.decode(ids, { skipSpecialTokens: true }),
    };
  }

  /** Token ids of a plain-text prompt (for parity checks and token counting). */
  encodeText(text: string): number[] {
    return this.tokenizer.encode(text, { addSpecialTokens: true });
  }

  async *generate(prompt: Prompt, options: GenerateOptions): AsyncGenerator<GenerationEvent> {
    const room = this.contextLength - prompt.tokens;
    const maxNewTokens = Math.min(options.maxTokens, room);
    const n = options.n;
    const { seed } = options.sampling;
    const answers: Answer[] = Array.from({ length: n }, (_, i) => ({
      // Answer 0 draws as a request with n = 1 and the same seed would.
      pick: createPicker({ ...options.sampling, ...(seed != null ? { seed: (seed + i) >>> 0 } : {}) }),
      stream: new TextStream(this.tokenizer, options.stop),
      tokens: 0,
      pending: [],
      finish: null,
    }));
    const eosId = [...this.eos][0] ?? 0;
    let firstTokenAt: number | null = null;
    let total = 0;
    const [, length, d] = prompt.embeds.dims;
    const embeds: HostTensor =
      n === 1
        ? prompt.embeds
        : {
            dtype: 'float32',
            dims: [n, length, d],
            data: repeatRows(prompt.embeds.data as Float32Array, n),
          };
    const mask: HostTensor<'int32'> = {
      dtype: 'int32',
      dims: [n, length],
      data: new Int32Array(n * length).fill(1),
    };
    const choose = (logits: Float32Array[]): number[] | null => {
      if (answers.every((a) => a.finish)) return null;
      return logits.map((row, i) => {
        const answer = answers[i];
        if (answer.finish) return eosId;
        const id = answer.pick(row);
        // EOS ends the text and is not part of it, so it has no logprob entry (as OpenAI).
        if (options.logprobs !== null && !this.eos.has(id)) {
          answer.pending.push(this.logprob(row, id, options.logprobs));
        }
        return id;
      });
    };
    for await (const ids of decodeSteps(this.sessions, embeds, mask, {
      maxNewTokens,
      choose,
      signal: options.signal,
    })) {
      firstTokenAt ??= performance.now();
      for (let i = 0; i < n; i++) {
        const answer = answers[i];
        if (answer.finish) continue;
        const id = ids[i];
        answer.tokens++;
        total++;
        if (this.eos.has(id)) {
          yield* this.close(i, answer, 'stop');
          continue;
        }
        const step = answer.stream.push(id);
        if (step.delta) {
          yield { type: 'delta', index: i, text: step.delta, tokens: answer.pending };
          answer.pending = [];
        }
        if (step.stopped) yield* this.close(i, answer, 'stop');
      }
      if (answers.every((a) => a.finish)) break;
    }
    for (let i = 0; i < n; i++) if (!answers[i].finish) yield* this.close(i, answers[i], 'length');
    yield { type: 'done', completionTokens: total, firstTokenAt, finishedAt: performance.now() };
  }

  /** Flushes answer `index`'s held-back text and logprobs, then says why it ended. */
  private *close(index: number, answer: Answer, reason: FinishReason): Generator<GenerationEvent> {
    answer.finish = reason;
    const rest = answer.stream.finish();
    if (rest || answer.pending.length > 0) {
      yield { type: 'delta', index, text: rest, tokens: answer.pending };
      answer.pending = [];
    }
    yield { type: 'finish', index, finishReason: reason, completionTokens: answer.tokens };
  }

  private logprob(logits: Float32Array, id: number, top: number): TokenLogprob {
    const found = tokenLogprobs(logits, id, top);
    const alternative = (t: { id: number; logprob: number }): TokenAlternative => ({
      ...this.texts(t.id),
      id: t.id,
      logprob: t.logprob,
    });
    return { ...alternative(found.token), top: found.top.map(alternative) };
  }

  async release(): Promise<void> {
    await releaseDecoderSessions(this.sessions);
    await this.encoder?.release();
  }

  private checkMedia(media: ResolvedMedia[]): void {
    for (const item of media) {
      if (!this.encoder) {
        throw new PromptError(
          `model ${this.id} is text-only and takes no ${item.kind}; serve a tuned run to send media`,
          item.param,
          'unsupported_media',
        );
      }
      if (item.kind !== this.encoder.modality) {
        throw new PromptError(
          `model ${this.id} takes ${this.encoder.modality} input, not ${item.kind}`,
          item.param,
          'unsupported_media',
        );
      }
    }
  }

  private checkContext(total: number, items: number, perItem: number | null, textTokens: number): void {
    if (total < this.contextLength) return;
    const room = this.contextLength - 1 - textTokens;
    const detail =
      items > 0 && perItem !== null
        ? `; each image takes ${perItem} positions, so at most ${Math.max(0, Math.floor(room / perItem))} fit beside this text`
        : '';
    throw new PromptError(
      `the prompt takes ${total} positions (${items} media items) but the model's context is ${this.contextLength}, leaving no room to answer${detail}`,
      'messages',
      'context_length_exceeded',
    );
  }

  private async encodeMedia(media: ResolvedMedia[]): Promise<MediaRows[]> {
    if (!this.encoder || media.length === 0) return [];
    const images = media.flatMap((m) => (m.kind === 'image' ? [m.bytes] : []));
    if (images.length === media.length) return this.encoder.encodeImages(images);
    const out: MediaRows[] = [];
    for (const m of media) {
      if (m.kind !== 'audio') continue;
      if (m.pcm.length > this.encoder.maxSamples) {
        throw new PromptError(
          `audio of ${(m.pcm.length / m.sampleRate).toFixed(1)} s is longer than the encoder's ${this.maxAudioSeconds} s window`,
          m.param,
          'audio_too_long',
        );
      }
      out.push(await this.encoder.encodeAudio(m.pcm));
    }
    return out;
  }

  /** Prompt embeddings with each media token replaced by its item's rows: (1, T', d). */
  private async splice(ids: number[], rows: MediaRows[]): Promise<HostTensor> {
    const tokens = await embedIds(this.sessions, ids);
    if (rows.length === 0) return tokens;
    const d = tokens.dims[2];
    const tokenId = this.tokenizer.tokenId(this.format.mediaToken as string);
    const total = ids.length - rows.length + rows.reduce((n, r) => n + r.rows, 0);
    const data = new Float32Array(total * d);
    const source = tokens.data as Float32Array;
    let at = 0;
    let item = 0;
    ids.forEach((id, t) => {
      if (id === tokenId) {
        const r = rows[item++];
        if (r.width !== d)
          throw new Error(`model ${this.id}: projector gives ${r.width}-wide rows, LM takes ${d}`);
        data.set(r.data, at * d);
        at += r.rows;
      } else {
        data.set(source.subarray(t * d, (t + 1) * d), at * d);
        at += 1;
      }
    });
    return { dtype: 'float32', dims: [1, total, d], data };
  }
}

/** (1, T, d) prompt rows repeated n times: (n, T, d). */
function repeatRows(data: Float32Array, n: number): Float32Array {
  const out = new Float32Array(data.length * n);
  for (let i = 0; i < n; i++) out.set(data, i * data.length);
  return out;
}
