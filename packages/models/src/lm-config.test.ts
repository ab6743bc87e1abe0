import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decoderFixturesDir, fixturesDir } from '../../../test/paths.js';
import { parseLmConfig } from './architectures/index.js';
import { UnsupportedConfigError } from './lm-config.js';

const readConfig = (name: string) => JSON.parse(readFileSync(join(fixturesDir, name, 'config.json'), 'utf8'));

test('tiny-llama (transformers 5 keys): GQA, head_dim, rope_parameters, untied head', () => {
  const c = parseLmConfig(readConfig('tiny-llama'));
  assert.equal(c.modelType, 'llama');
  assert.deepEqual([c.numHeads, c.numKvHeads, c.headDim], [4, 2, 16]);
  assert.equal(c.ropeTheta, 10000);
  assert.deepEqual(c.ropeScaling, { type: 'default' });
  assert.equal(c.tieWordEmbeddings, false);
  assert.equal(c.rmsNormEps, 1e-5);
  assert.deepEqual([c.qkvBias, c.oBias, c.mlpBias], [false, false, false]);
  assert.deepEqual(c.eosTokenIds, [2]);
});

test('tiny-qwen2: q/k/v biases without o bias, tied head, theta 1e6', () => {
  const c = parseLmConfig(readConfig('tiny-qwen2'));
  assert.deepEqual([c.qkvBias, c.oBias], [true, false]);
  assert.equal(c.tieWordEmbeddings, true);
  assert.equal(c.ropeTheta, 1e6);
  assert.equal(c.numKvHeads, 4);
});

test('transformers 4 keys: rope_theta + rope_scaling llama3, head_dim and kv heads defaulted', () => {
  const c = parseLmConfig({
    model_type: 'llama',
    vocab_size: 128256,
    hidden_size: 4096,
    intermediate_size: 14336,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    rope_theta: 500000,
    rope_scaling: {
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    },
    eos_token_id: [128001, 128009],
  });
  assert.equal(c.ropeTheta, 500000);
  assert.deepEqual(c.ropeScaling, {
    type: 'llama3',
    factor: 8,
    lowFreqFactor: 1,
    highFreqFactor: 4,
    originalMaxPositionEmbeddings: 8192,
  });
  assert.deepEqual([c.numKvHeads, c.headDim, c.rmsNormEps], [32, 128, 1e-6]);
  assert.deepEqual(c.eosTokenIds, [128001, 128009]);
});

test('errors name the offending key and list the valid options', () => {
  const base = readConfig('tiny-llama');
  assert.throws(
    () => parseLmConfig({ ...base, model_type: 'gpt2' }),
    /'gpt2'.*supported: llama, qwen2, qwen3, gemma2, gemma3_text, phi3/,
  );
  assert.throws(
    () => parseLmConfig({ ...base, rope_parameters: { rope_type: 'yarn', factor: 4 } }),
    (e: Error) => e instanceof UnsupportedConfigError && /yarn.*default, linear, llama3/.test(e.message),
  );
  assert.throws(() => parseLmConfig({ ...base, hidden_act: 'relu2' }), /relu2.*silu/);
  assert.throws(
    () => parseLmConfig({ ...base, num_key_value_heads: 3 }),
    /multiple of num_key_value_heads 3/,
  );
  assert.throws(() => parseLmConfig({ ...base, hidden_size: 'big' }), /hidden_size/);
  assert.throws(
    () => parseLmConfig({ ...base, rope_parameters: { rope_type: 'llama3', factor: 8 } }),
    /low_freq_factor/,
  );
});

const readDecoderConfig = (name: string) =>
  JSON.parse(readFileSync(join(decoderFixturesDir, name, 'config.json'), 'utf8'));

test('qwen3: explicit head_dim, q/k norms, no biases', () => {
  const c = parseLmConfig(readDecoderConfig('tiny-qwen3'));
  assert.deepEqual(
    [c.headDim, c.qkNorm, c.qkvBias, c.oBias, c.sandwichNorms],
    [32, true, false, false, false],
  );
  assert.equal(c.attentionScale, 1 / Math.sqrt(32));
  assert.deepEqual(c.layerTypes, ['full', 'full', 'full']);
  // Qwen3Config defaults head_dim to 128, not hidden / heads.
  const { head_dim: _, ...noHeadDim } = readDecoderConfig('tiny-qwen3');
  assert.equal(parseLmConfig(noHeadDim).headDim, 128);
});

test('gemma2: offsets, sandwich norms, sqrt(d) embeddings, soft-caps, alternating sliding layers', () => {
  const c = parseLmConfig(readDecoderConfig('tiny-gemma2'));
  assert.deepEqual([c.normWeightOffset, c.sandwichNorms, c.qkNorm], [1, true, false]);
  assert.equal(c.embedScale, 8);
  assert.equal(c.attentionScale, 1 / Math.sqrt(24));
  assert.deepEqual([c.attnLogitSoftcap, c.finalLogitSoftcap], [4, 3]);
  assert.deepEqual(c.layerTypes, ['sliding', 'full', 'sliding']);
  assert.equal(c.slidingWindow, 6);
  assert.equal(c.hiddenAct, 'gelu_pytorch_tanh');
  // Gemma2Config turns the caps on when the keys are absent, off when they are null.
  const {
    attn_logit_softcapping: _a,
    final_logit_softcapping: _f,
    ...absent
  } = readDecoderConfig('tiny-gemma2');
  assert.deepEqual(
    [parseLmConfig(absent).attnLogitSoftcap, parseLmConfig(absent).finalLogitSoftcap],
    [50, 30],
  );
});

test('gemma3_text: per-layer-type rope in transformers 5 keys and in transformers 4 keys', () => {
  const c = parseLmConfig(readDecoderConfig('tiny-gemma3_text'));
  assert.deepEqual(c.layerTypes, ['sliding', 'sliding', 'full']);
  assert.equal(c.ropeTheta, 1e6);
  assert.deepEqual(c.ropeScaling, { type: 'linear', factor: 2 });
  assert.deepEqual(c.slidingRope, { theta: 10000, scaling: { type: 'default' } });
  const { rope_parameters: _r, layer_types: _l, ...v4 } = readDecoderConfig('tiny-gemma3_text');
  const old = parseLmConfig({
    ...v4,
    num_hidden_layers: 7,
    rope_theta: 500000,
    rope_local_base_freq: 20000,
    rope_scaling: { rope_type: 'linear', factor: 8 },
    sliding_window_pattern: 6,
  });
  assert.deepEqual(old.layerTypes, [
    'sliding',
    'sliding',
    'sliding',
    'sliding',
    'sliding',
    'full',
    'sliding',
  ]);
  assert.deepEqual([old.ropeTheta, old.ropeScaling], [500000, { type: 'linear', factor: 8 }]);
  assert.deepEqual(old.slidingRope, { theta: 20000, scaling: { type: 'default' } });
});

test('phi3: partial rotary, every layer sliding when sliding_window is set, longrope refused', () => {
  const c = parseLmConfig(readDecoderConfig('tiny-phi3'));
  assert.deepEqual([c.headDim, c.rotaryDim], [16, 8]);
  assert.deepEqual(c.layerTypes, ['sliding', 'sliding', 'sliding']);
  assert.equal(c.slidingWindow, 8);
  assert.throws(
    () => parseLmConfig({ ...readDecoderConfig('tiny-phi3'), rope_parameters: { rope_type: 'longrope' } }),
    /longrope.*default, linear, llama3/,
  );
});
