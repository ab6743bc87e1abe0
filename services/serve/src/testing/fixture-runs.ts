// Finished "runs" for tests and benches, written into the bucket in the trainer's layout (spec.json,
// state.json, and a complete checkpoint written by the trainer's own saveCheckpoint): a projector
// with PyTorch's initialisation from a seed, over any LM and encoder folders.
import { type EncoderSpecInput, keys, newId } from '@mmit/contracts';
import { initProjector, type ProjectorType, projectorParamDims } from '@mmit/models';
import type { Bucket } from '@mmit/storage';
import type { HostTensor } from '@mmit/tensor';
import type { RunSpecInput } from '@mmit/train';
import { initialRunState, saveCheckpoint } from '@mmit/train';

export interface FixtureRunOptions {
  lm: string;
  /** Tokenizer folder when the LM folder has none. */
  tokenizer?: string;
  encoder: string;
  /** More of the encoder spec the run's features were made with (precision, layer, ...). */
  encoderSpec?: Omit<EncoderSpecInput, 'checkpoint'>;
  /** Feature width of the encoder (vision hidden size / Whisper d_model). */
  featureDim: number;
  /** LM hidden size. */
  hiddenSize: number;
  projector?: ProjectorType;
  template?: 'chat' | 'plain';
  /** The run's name (serve answers to it as an alias). */
  name?: string;
  seed?: number;
  step?: number;
  /** Extra weights under our names (e.g. `lora.layers.0.attn.q.A`) and the spec's lora block. */
  lora?: { rank: number; alpha: number; tensors: Record<string, HostTensor<'float32'>> };
}

/** Writes a succeeded run and returns its id and its projector weights (our names). */
export async function writeFixtureRun(
  bucket: Bucket,
  options: FixtureRunOptions,
): Promise<{ id: string; projector: Record<string, HostTensor<'float32'>> }> {
  const id = newId('run');
  const type = options.projector ?? 'mlp2x_gelu';
  const spec = { type, inputDim: options.featureDim, outputDim: options.hiddenSize };
  const values = initProjector(spec, options.seed ?? 0);
  const dims = projectorParamDims(spec);
  const projector = Object.fromEntries(
    Object.entries(values).map(([name, data]) => [
      name,
      { dtype: 'float32', dims: dims[name], data } as HostTensor<'float32'>,
    ]),
  );
  const trained = { ...projector, ...(options.lora?.tensors ?? {}) };
  const step = options.step ?? 10;
  const zeros = () =>
    Object.fromEntries(Object.entries(trained).map(([n, t]) => [n, new Float64Array(t.data.length)]));
  const prefix = await saveCheckpoint(
    bucket,
    id,
    {
      loop: { step, data: { epoch: 0, batchInEpoch: 0, epochRandomState: 0 }, samplesSeen: 0, tokensSeen: 0 },
      optimizer: {
        step,
        params: Object.fromEntries(Object.entries(trained).map(([n, t]) => [n, Float64Array.from(t.data)])),
        expAvg: zeros(),
        expAvgSq: zeros(),
      },
    },
    Object.fromEntries(Object.entries(trained).map(([n, t]) => [n, t.dims])),
  );
  const runSpec: RunSpecInput = {
    ...(options.name ? { name: options.name } : {}),
    datasetId: newId('dataset'),
    encoder: { spec: { ...options.encoderSpec, checkpoint: options.encoder } },
    lm: { checkpoint: options.lm, ...(options.tokenizer ? { tokenizer: options.tokenizer } : {}) },
    projector: { type },
    template: options.template ?? 'chat',
    steps: step,
    ...(options.lora
      ? {
          lora: {
            rank: options.lora.rank,
            alpha: options.lora.alpha,
            targets: ['q_proj', 'v_proj'] as const,
          },
        }
      : {}),
  };
  await bucket.putJson(keys.runSpec(id), runSpec);
  const now = new Date();
  await bucket.putJson(keys.runState(id), {
    ...initialRunState(id, options.name, now),
    status: 'succeeded',
    step,
    finishedAt: now.toISOString(),
    lastCheckpoint: { step, prefix },
  });
  return { id, projector };
}
