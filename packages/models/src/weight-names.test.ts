import assert from 'node:assert/strict';
import { test } from 'node:test';
import { architectures, parseLmConfig } from './architectures/index.js';
import { ourWeightName as nameIn, oursOf, type WeightLayout, weightSlices } from './weight-names.js';

const llama = architectures.llama.weights;
const ourWeightName = (hf: string) => nameIn(llama, hf);
const weightNameMap = (names: string[]) =>
  new Map([...weightSlices(llama, null, names)].map(([ours, slice]) => [ours, slice.hf]));

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

test("a family's layout holds its own names: Gemma's sandwich norms, Qwen3's q/k norms", () => {
  const gemma: WeightLayout = architectures.gemma2.weights;
  assert.equal(
    nameIn(gemma, 'model.layers.1.post_attention_layernorm.weight'),
    'layers.1.post_attn_norm.weight',
  );
  assert.equal(nameIn(gemma, 'model.layers.1.pre_feedforward_layernorm.weight'), 'layers.1.mlp_norm.weight');
  assert.equal(
    nameIn(gemma, 'model.layers.1.post_feedforward_layernorm.weight'),
    'layers.1.post_mlp_norm.weight',
  );
  // In Llama the same HF name is the norm before the MLP.
  assert.equal(nameIn(llama, 'model.layers.1.post_attention_layernorm.weight'), 'layers.1.mlp_norm.weight');
  assert.equal(
    nameIn(architectures.qwen3.weights, 'model.layers.0.self_attn.k_norm.weight'),
    'layers.0.attn.k_norm.weight',
  );
  assert.equal(nameIn(llama, 'model.layers.0.self_attn.k_norm.weight'), null);
});

test("Phi-3's fused qkv_proj and gate_up_proj split into our linears by the config's row counts", () => {
  const phi3 = architectures.phi3.weights;
  const config = parseLmConfig({
    model_type: 'phi3',
    vocab_size: 100,
    hidden_size: 64,
    intermediate_size: 96,
    num_hidden_layers: 1,
    num_attention_heads: 4,
    num_key_value_heads: 2,
  });
  assert.deepEqual(oursOf(phi3, 'model.layers.0.self_attn.qkv_proj.weight')?.ours, [
    'layers.0.attn.q.weight',
    'layers.0.attn.k.weight',
    'layers.0.attn.v.weight',
  ]);
  const slices = weightSlices(phi3, config, [
    'model.layers.0.self_attn.qkv_proj.weight',
    'model.layers.0.mlp.gate_up_proj.weight',
    'model.layers.0.self_attn.o_proj.weight',
  ]);
  // q: 4 heads x 16, k and v: 2 kv heads x 16 each; gate then up, 96 rows each.
  assert.deepEqual(slices.get('layers.0.attn.q.weight')?.rows, [0, 64]);
  assert.deepEqual(slices.get('layers.0.attn.k.weight')?.rows, [64, 96]);
  assert.deepEqual(slices.get('layers.0.attn.v.weight')?.rows, [96, 128]);
  assert.deepEqual(slices.get('layers.0.mlp.gate.weight')?.rows, [0, 96]);
  assert.deepEqual(slices.get('layers.0.mlp.up.weight')?.rows, [96, 192]);
  assert.deepEqual(slices.get('layers.0.attn.o.weight'), {
    hf: 'model.layers.0.self_attn.o_proj.weight',
    rows: null,
  });
  // Names another family splits are not Phi-3's.
  assert.equal(ourWeightName('model.layers.0.self_attn.qkv_proj.weight'), null);
});
