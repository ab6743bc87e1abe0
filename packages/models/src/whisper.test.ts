// Whisper encoder against Hugging Face's numbers (case_whisper), from the WhisperModel layout
// of tiny-whisper and re-saved as WhisperForConditionalGeneration (model.encoder. prefix).
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createSession, type HostTensor, readSafetensors, toNumbers, writeSafetensors } from '@mmit/tensor';
import { fixture } from '../../../test/paths.js';
import { buildWhisperEncoderGraph, encoderFramesFor, openWhisperEncoder } from './whisper.js';

const golden = readSafetensors(fixture('case_whisper.safetensors')).tensors;

function maxRelative(actual: HostTensor, expected: HostTensor): number {
  const a = toNumbers(actual);
  const b = toNumbers(expected);
  assert.equal(a.length, b.length, 'element counts differ');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

describe('Whisper encoder (case_whisper)', () => {
  it('matches encoder.last_hidden_state from the stored input_features (< 1e-4)', async () => {
    const encoder = openWhisperEncoder(fixture('tiny-whisper'));
    assert.equal(encoder.weights.prefix, 'encoder.');
    assert.equal(encoder.inputFrames, 3000);
    const session = await createSession(buildWhisperEncoderGraph(encoder), { ep: 'cpu', cache: false });
    const out = await session.run({ input_features: golden.input_features });
    await session.release();
    encoder.weights.close();
    assert.deepEqual(out.last_hidden_state.dims, golden['encoder.last_hidden_state'].dims);
    const error = maxRelative(out.last_hidden_state, golden['encoder.last_hidden_state']);
    assert.ok(error < 1e-4, `encoder.last_hidden_state: ${error}`);
  });

  it('loads a WhisperForConditionalGeneration layout (model.encoder.) and can stop at hidden_states[0]', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmit-whisper-'));
    try {
      const weights = readSafetensors(fixture('tiny-whisper/model.safetensors')).tensors;
      const renamed = Object.fromEntries(Object.entries(weights).map(([name, t]) => [`model.${name}`, t]));
      writeSafetensors(join(dir, 'model.safetensors'), renamed, { format: 'pt' });
      copyFileSync(fixture('tiny-whisper/config.json'), join(dir, 'config.json'));
      const encoder = openWhisperEncoder(dir);
      assert.equal(encoder.weights.prefix, 'model.encoder.');
      const full = buildWhisperEncoderGraph(encoder);
      const embeddingsOnly = buildWhisperEncoderGraph(encoder, { hiddenStates: [0], lastHiddenState: false });
      assert.ok(
        !embeddingsOnly.nodes.some((n) => n.name.startsWith('layers.')),
        'no layer is needed for hidden_states[0]',
      );
      const session = await createSession(full, { ep: 'cpu', cache: false });
      const out = await session.run({ input_features: golden.input_features });
      await session.release();
      encoder.weights.close();
      assert.ok(maxRelative(out.last_hidden_state, golden['encoder.last_hidden_state']) < 1e-4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('maps mel frames holding audio to encoder frames (conv2 stride 2: ceil(L / 2))', () => {
    assert.equal(encoderFramesFor(150), 75);
    assert.equal(encoderFramesFor(151), 76);
    assert.equal(encoderFramesFor(3000), 1500);
  });
});
