// CLIP/SigLIP image features: preprocess each image as the checkpoint's processor says, run the
// tower graph on the batch, and cut LLaVA's selected features (N, D) per image out of the output.
// Images that fail to decode get an error outcome; the rest of the batch still runs.
import type { EncoderSpec } from '@mmit/features';
import {
  type ImageProcessorPlan,
  preprocessImage,
  type VisionEncoderSession,
  visionOutputs,
} from '@mmit/models';
import type { ExecutionProvider, HostTensor, Session } from '@mmit/tensor';
import { asError, type EncodeOutcome, type EncoderRunner, storedSlice } from './runner.js';

export class VisionRunner implements EncoderRunner {
  readonly modality = 'image';
  private readonly session: Session;
  private readonly plan: ImageProcessorPlan;

  /** Takes over an opened tower session (openEncoderSession); close() releases it. */
  constructor(
    opened: VisionEncoderSession,
    private readonly spec: EncoderSpec,
  ) {
    this.session = opened.session;
    this.plan = opened.plan;
  }

  get ep(): ExecutionProvider {
    return this.session.ep;
  }

  get fallbackReason(): string | null {
    return this.session.fallbackReason;
  }

  async encode(media: Uint8Array[]): Promise<EncodeOutcome[]> {
    const settled = await Promise.allSettled(media.map((bytes) => preprocessImage(bytes, this.plan)));
    const good = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [{ i, pixels: s.value }] : []));
    const outcomes: EncodeOutcome[] = settled.map((s) =>
      s.status === 'rejected' ? { error: asError(s.reason) } : { error: new Error('not run') },
    );
    if (good.length === 0) return outcomes;
    const [c, h, w] = good[0].pixels.dims;
    const size = c * h * w;
    const batch = new Float32Array(good.length * size);
    for (const [k, { pixels }] of good.entries()) batch.set(pixels.data, k * size);
    const pixelValues: HostTensor = { dtype: 'float32', dims: [good.length, c, h, w], data: batch };
    const out = (await this.session.run({ pixel_values: pixelValues }))[visionOutputs.features];
    const [, tokens, dim] = out.dims;
    good.forEach(({ i }, k) => {
      outcomes[i] = {
        block: {
          features: storedSlice(out.data as Float32Array, k, 1, tokens * dim, [tokens, dim], this.spec.dtype),
        },
      };
    });
    return outcomes;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
