// A model ready to answer: tokenizer, the LM's embed/prefill/decode sessions (LoRA merged when
// the run has adapters), and for a tuned run the media encoder + projector. `prepare` turns a
// conversation into the prompt embeddings (media rows spliced in at their tokens, checked
// against the context length before any encoder runs when the row count is known); `generate`
// streams text deltas until EOS, a stop string, max tokens, the context end or an abort.
import {
  createPicker,
  type DecoderSessions,
  decodeTokens,
  embedIds,
  openDecoderSessions,
  releaseDecoderSessions,
  type SamplingParams,
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
}

export interface GenerateOptions {
  maxTokens: number;
  sampling: SamplingParams;
  stop: string[];
  signal?: AbortSignal;
}

export type FinishReason = 'stop' | 'length';

export type GenerationEvent =
  | { type: 'delta'; text: string }
  | {
      type: 'done';
      finishReason: FinishReason;
      completionTokens: number;
      tokenIds: number[];
      /** performance.now() when the first token was picked (null: none was) and when generation ended. */
      firstTokenAt: number | null;
      finishedAt: number;
    };

export class ServedModel {
  private constructor(
    readonly id: string,
    readonly tokenizer: Tokenizer,
    private readonly sessions: DecoderSessions,
    readonly contextLength: number,
    private readonly eos: Set<number>,
    private readonly format: PromptFormat,
    private readonly encoder: MediaEncoder | null,
  ) {}

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
    return { embeds: await this.splice(ids, rows), tokens: total };
  }

  async textPrompt(text: string): Promise<Prompt> {
    const ids = this.tokenizer.encode(text, { addSpecialTokens: true });
    if (ids.length === 0) throw new PromptError('the prompt is empty', 'prompt', 'empty_prompt');
    this.checkContext(ids.length, 0, null, ids.length);
    return { embeds: await embedIds(this.sessions, ids), tokens: ids.length };
  }

  /** Token ids of a plain-text prompt (for parity checks and token counting). */
  encodeText(text: string): number[] {
    return this.tokenizer.encode(text, { addSpecialTokens: true });
  }

  async *generate(prompt: Prompt, options: GenerateOptions): AsyncGenerator<GenerationEvent> {
    const room = this.contextLength - prompt.tokens;
    const maxNewTokens = Math.min(options.maxTokens, room);
    const stream = new TextStream(this.tokenizer, options.stop);
    const tokenIds: number[] = [];
    let finishReason: FinishReason = 'length';
    let firstTokenAt: number | null = null;
    for await (const id of decodeTokens(this.sessions, prompt.embeds, {
      maxNewTokens,
      pick: createPicker(options.sampling),
      signal: options.signal,
    })) {
      tokenIds.push(id);
      firstTokenAt ??= performance.now();
      if (this.eos.has(id)) {
        finishReason = 'stop';
        break;
      }
      const step = stream.push(id);
      if (step.delta) yield { type: 'delta', text: step.delta };
      if (step.stopped) {
        finishReason = 'stop';
        break;
      }
    }
    const rest = stream.finish();
    if (rest) yield { type: 'delta', text: rest };
    yield {
      type: 'done',
      finishReason,
      completionTokens: tokenIds.length,
      tokenIds,
      firstTokenAt,
      finishedAt: performance.now(),
    };
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
