// The encoder case runners on the real golden folder: every measure within the README's
// tolerances, the measures named as the verify command prints them, and the LLaVA tower
// features equal to the features case_llava_llama_clip was made with.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readSafetensors, toNumbers } from '@mmit/tensor';
import { fixture, fixturesDir } from '../../../test/paths.js';
import { detectEncoder, openVisionTower, UnsupportedEncoderError } from './encoders.js';
import { encoderCaseRunners, towerFeatures } from './verify-encoders.js';
import type { CaseContext } from './verify-measures.js';

function context(file: string): CaseContext {
  const { tensors, metadata } = readSafetensors(fixture(file));
  return {
    dir: fixturesDir,
    tensors,
    metadata: JSON.parse(metadata.json) as Record<string, unknown>,
    ep: 'cpu',
  };
}

describe('encoder case runners', () => {
  it('case_clip: pixel_values and every stored tower output within tolerance', async () => {
    const measures = await encoderCaseRunners.vision_encoder(context('case_clip.safetensors'));
    assert.deepEqual(
      measures.map((m) => m.name),
      [
        'pixel_values.mean_abs',
        'pixel_values.max_abs',
        'hidden_states.-2',
        'last_hidden_state',
        'pooler_output',
        'random.hidden_states.-2',
        'random.last_hidden_state',
      ],
    );
    for (const m of measures) assert.ok(m.ok, `${m.name} = ${m.value} (tolerance ${m.tolerance})`);
  });

  it('case_whisper: input_features, the encoder, and the encoder on our own log-mel within tolerance', async () => {
    const measures = await encoderCaseRunners.audio_encoder(context('case_whisper.safetensors'));
    assert.deepEqual(
      measures.map((m) => m.name),
      ['input_features', 'encoder.last_hidden_state', 'encoder.last_hidden_state[from audio]'],
    );
    for (const m of measures) assert.ok(m.ok, `${m.name} = ${m.value} (tolerance ${m.tolerance})`);
  });

  it('gives case_llava_llama_clip its features: layer -2, CLS dropped (row 0 of the stored batch)', async () => {
    const llava = context('case_llava_llama_clip.safetensors');
    const features = await towerFeatures(llava, llava.tensors.pixel_values);
    const [, rows, width] = llava.tensors.features.dims;
    assert.deepEqual(features.dims, [1, rows, width]);
    const expected = toNumbers(llava.tensors.features).subarray(0, rows * width);
    const got = toNumbers(features);
    let diff = 0;
    let scale = 0;
    expected.forEach((v, i) => {
      diff = Math.max(diff, Math.abs(got[i] - v));
      scale = Math.max(scale, Math.abs(v));
    });
    assert.ok(diff / scale < 1e-4, `features ${diff / scale}`);
  });

  it('refuses a checkpoint that is not a vision tower, listing the supported ones', () => {
    assert.throws(() => openVisionTower(fixture('tiny-whisper')), UnsupportedEncoderError);
    assert.throws(() => openVisionTower(fixture('tiny-whisper')), /valid: clip/);
  });
});

describe('the encoder registry', () => {
  it('detects each fixture encoder by its model_type, nested vision or audio config first', () => {
    const detected = (name: string) => {
      const { family, modelType } = detectEncoder(fixture(name));
      return [family.kind, family.modality, modelType];
    };
    assert.deepEqual(detected('tiny-clip-vision'), ['clip', 'image', 'clip_vision_model']);
    assert.deepEqual(detected('tiny-whisper'), ['whisper', 'audio', 'whisper']);
  });

  it('reads SigLIP from a nested vision_config, and a LLaVA config without one as CLIP', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmit-encoders-'));
    try {
      const config = (json: object) => writeFileSync(join(dir, 'config.json'), JSON.stringify(json));
      config({ model_type: 'siglip', vision_config: { model_type: 'siglip_vision_model' }, text_config: {} });
      assert.equal(detectEncoder(dir).family.kind, 'siglip');
      config({ model_type: 'llava', text_config: { model_type: 'llama' } });
      assert.equal(detectEncoder(dir).family.kind, 'clip');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a language model, naming every model_type it knows', () => {
    assert.throws(
      () => detectEncoder(fixture('tiny-llama')),
      /model_type 'llama' is not a supported encoder; valid: clip, clip_vision_model, llava, siglip, siglip_vision_model, whisper/,
    );
  });
});
