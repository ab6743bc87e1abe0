import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixturesDir } from '../../../test/paths.js';
import { parseLmConfig, UnsupportedConfigError } from './lm-config.js';

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
  assert.throws(() => parseLmConfig({ ...base, model_type: 'gpt2' }), /'gpt2'.*supported: llama, qwen2/);
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
