// Whisper audio features from the 16 kHz mono copies that ingest stores: each clip is cut into
// 30-second windows (the encoder's fixed input), each window becomes a log-mel and one row of the
// encoder batch, and a clip's block is (W, P, D) features with a (W, P) mask that is 1 on encoder
// frames that saw audio and 0 on frames that only saw the window's padding.
// Limits: the copy must already be at the extractor's sampling rate (ingest guarantees 16 kHz);
// windows are cut back to back, without overlap.
import type { EncoderSpec } from '@mmit/features';
import { decodeWav } from '@mmit/media';
import {
  type AudioEncoderSession,
  encoderFramesFor,
  type WhisperFeatureConfig,
  whisperLogMel,
  windowSizes,
} from '@mmit/models';
import { type ExecutionProvider, hostTensor, type Session } from '@mmit/tensor';
import { asError, type EncodeOutcome, type EncoderRunner, storedSlice } from './runner.js';

export class AudioFormatError extends Error {
  override name = 'AudioFormatError';
}

interface Clip {
  index: number;
  windows: { data: Float32Array; encoderFrames: number }[];
}

export class AudioRunner implements EncoderRunner {
  readonly modality = 'audio';
  private readonly session: Session;
  private readonly config: WhisperFeatureConfig;
  private readonly positions: number;

  /** Takes over an opened encoder session (openEncoderSession); close() releases it. */
  constructor(
    opened: AudioEncoderSession,
    private readonly spec: EncoderSpec,
    /** Most windows per encoder run (long clips spread over several runs). */
    private readonly maxWindows = 8,
  ) {
    this.session = opened.session;
    this.config = opened.config;
    this.positions = opened.positions;
  }

  get ep(): ExecutionProvider {
    return this.session.ep;
  }

  get fallbackReason(): string | null {
    return this.session.fallbackReason;
  }

  /** Splits one clip into windows and computes each window's log-mel. */
  private windowsOf(bytes: Uint8Array): Clip['windows'] {
    const audio = decodeWav(bytes);
    if (audio.sampleRate !== this.config.sampling_rate || audio.channels !== 1) {
      throw new AudioFormatError(
        `audio is ${audio.sampleRate} Hz x ${audio.channels} channels; the encoder needs the ${this.config.sampling_rate} Hz mono copy`,
      );
    }
    const samples = audio.channelData[0];
    const { nSamples } = windowSizes(this.config);
    const count = Math.max(1, Math.ceil(samples.length / nSamples));
    return Array.from({ length: count }, (_, w) => {
      const mel = whisperLogMel(samples.subarray(w * nSamples, (w + 1) * nSamples), this.config);
      return { data: mel.data, encoderFrames: Math.min(this.positions, encoderFramesFor(mel.realFrames)) };
    });
  }

  async encode(media: Uint8Array[]): Promise<EncodeOutcome[]> {
    const outcomes: EncodeOutcome[] = [];
    const clips: Clip[] = [];
    media.forEach((bytes, index) => {
      try {
        clips.push({ index, windows: this.windowsOf(bytes) });
        outcomes[index] = { error: new Error('not run') };
      } catch (err) {
        outcomes[index] = { error: asError(err) };
      }
    });
    const rows = clips.flatMap((clip) => clip.windows);
    if (rows.length === 0) return outcomes;
    const hidden = await this.runWindows(rows.map((r) => r.data));
    const { positions } = this;
    const dim = hidden.length / (rows.length * positions);
    let row = 0;
    for (const clip of clips) {
      const count = clip.windows.length;
      const mask = new Uint8Array(count * positions);
      for (const [k, w] of clip.windows.entries())
        mask.fill(1, k * positions, k * positions + w.encoderFrames);
      outcomes[clip.index] = {
        block: {
          features: storedSlice(
            hidden,
            row,
            count,
            positions * dim,
            [count, positions, dim],
            this.spec.dtype,
          ),
          mask: hostTensor('uint8', [count, positions], mask),
        },
      };
      row += count;
    }
    return outcomes;
  }

  /** Runs the encoder over log-mel windows, `maxWindows` at a time; returns (rows, P, D) float32. */
  private async runWindows(windows: Float32Array[]): Promise<Float32Array> {
    const size = windows[0].length;
    const parts: Float32Array[] = [];
    for (let start = 0; start < windows.length; start += this.maxWindows) {
      const group = windows.slice(start, start + this.maxWindows);
      const feed = new Float32Array(group.length * size);
      for (const [k, w] of group.entries()) feed.set(w, k * size);
      const out = await this.session.run({
        input_features: hostTensor(
          'float32',
          [group.length, this.config.feature_size, size / this.config.feature_size],
          feed,
        ),
      });
      parts.push(out.last_hidden_state.data as Float32Array);
    }
    if (parts.length === 1) return parts[0];
    const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    return all;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
