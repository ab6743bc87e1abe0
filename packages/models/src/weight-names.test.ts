import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ourWeightName, weightNameMap } from './weight-names.js';

test('maps causal-LM, transformers 4 LLaVA and transformers 5 LLaVA layouts to the same names', () => {
  for (const prefix of ['model.', 'language_model.model.', 'model.language_model.']) {
    assert.equal(ourWeightName(`${prefix}layers.12.self_attn.k_proj.bias`), 'layers.12.attn.k.bias');
    assert.equal(ourWeightName(`${prefix}embed_tokens.weight`), 'embed.weight');
    assert.equal(ourWeightName(`${prefix}norm.weight`), 'norm.weight');
  }
  assert.equal(ourWeightName('lm_head.weight'), 'head.weight');
  assert.equal(ourWeightName('language_model.lm_head.weight'), 'head.weight');
  assert.equal(ourWeightName('model.layers.0.post_attention_layernorm.weight'), 'layers.0.mlp_norm.weight');
  assert.equal(ourWeightName('multi_modal_projector.linear_2.bias'), 'projector.linear_2.bias');
  assert.equal(ourWeightName('model.multi_modal_projector.linear_1.weight'), 'projector.linear_1.weight');
});

test('names outside the table are left unmapped', () => {
  assert.equal(ourWeightName('vision_tower.vision_model.embeddings.patch_embedding.weight'), null);
  assert.equal(ourWeightName('model.layers.0.self_attn.rotary_emb.inv_freq'), null);
  const map = weightNameMap(['model.norm.weight', 'vision_model.post_layernorm.weight']);
  assert.deepEqual([...map], [['norm.weight', 'model.norm.weight']]);
});
