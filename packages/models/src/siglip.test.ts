// SigLIP has no Hugging Face golden case here, so the graph is checked against an independent
// plain-TS float64 forward written from transformers' modeling_siglip.py (conv patches with
// bias + position embeddings, no CLS, no pre-LN, pre-LN layers with gelu_pytorch_tanh,
// post_layernorm), on a tiny random checkpoint written in SigLIP's HF layout.
// Limits: both sides encode our reading of the HF code; a misreading shared by both would pass.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSession, type HostTensor, hostTensor, writeSafetensors } from '@mmit/tensor';
import { buildSiglipVisionGraph, openSiglipVisionTower, type SiglipVisionTower } from './siglip.js';
import { FeatureRequestError } from './vision-tower.js';

const cfg = { hidden: 32, inter: 48, layers: 3, heads: 4, image: 16, patch: 4, channels: 3, eps: 1e-6 };
const tokens = (cfg.image / cfg.patch) ** 2;

/** Deterministic uniform(-1, 1) numbers (a small LCG: the test needs no statistical quality). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32) * 2 - 1;
  };
}

type Weights = Record<string, { dims: number[]; data: Float64Array }>;

function makeWeights(seed: number): Weights {
  const next = random(seed);
  const w: Weights = {};
  const tensor = (name: string, dims: number[], scale: number, offset = 0) => {
    const n = dims.reduce((a, b) => a * b, 1);
    w[name] = { dims, data: Float64Array.from({ length: n }, () => offset + next() * scale) };
  };
  const { hidden: d, inter, channels: c, patch: p } = cfg;
  tensor('embeddings.patch_embedding.weight', [d, c, p, p], 0.15);
  tensor('embeddings.patch_embedding.bias', [d], 0.05);
  tensor('embeddings.position_embedding.weight', [tokens, d], 0.3);
  for (let i = 0; i < cfg.layers; i++) {
    const l = `encoder.layers.${i}.`;
    for (const norm of ['layer_norm1', 'layer_norm2']) {
      tensor(`${l}${norm}.weight`, [d], 0.2, 1);
      tensor(`${l}${norm}.bias`, [d], 0.05);
    }
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      tensor(`${l}self_attn.${proj}.weight`, [d, d], 0.3);
      tensor(`${l}self_attn.${proj}.bias`, [d], 0.05);
    }
    tensor(`${l}mlp.fc1.weight`, [inter, d], 0.3);
    tensor(`${l}mlp.fc1.bias`, [inter], 0.05);
    tensor(`${l}mlp.fc2.weight`, [d, inter], 0.3);
    tensor(`${l}mlp.fc2.bias`, [d], 0.05);
  }
  tensor('post_layernorm.weight', [d], 0.2, 1);
  tensor('post_layernorm.bias', [d], 0.05);
  return w;
}

// ---- the independent reference: plain loops over float64 arrays, one image at a time ----------

type Matrix = Float64Array[]; // rows

function linearRef(x: Matrix, w: Weights, name: string): Matrix {
  const W = w[`${name}.weight`];
  const b = w[`${name}.bias`].data;
  const [out, inp] = W.dims;
  return x.map((row) =>
    Float64Array.from({ length: out }, (_, o) => {
      let acc = b[o];
      for (let i = 0; i < inp; i++) acc += W.data[o * inp + i] * row[i];
      return acc;
    }),
  );
}

function layerNormRef(x: Matrix, w: Weights, name: string): Matrix {
  const g = w[`${name}.weight`].data;
  const b = w[`${name}.bias`].data;
  return x.map((row) => {
    const mean = row.reduce((a, v) => a + v, 0) / row.length;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / row.length;
    return row.map((v, i) => ((v - mean) / Math.sqrt(variance + cfg.eps)) * g[i] + b[i]);
  });
}

const geluTanhRef = (v: number) =>
  0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
const addRows = (a: Matrix, b: Matrix): Matrix => a.map((row, t) => row.map((v, i) => v + b[t][i]));

function attentionRef(x: Matrix, w: Weights, l: string): Matrix {
  const q = linearRef(x, w, `${l}self_attn.q_proj`);
  const k = linearRef(x, w, `${l}self_attn.k_proj`);
  const v = linearRef(x, w, `${l}self_attn.v_proj`);
  const dh = cfg.hidden / cfg.heads;
  const out: Matrix = x.map(() => new Float64Array(cfg.hidden));
  for (let h = 0; h < cfg.heads; h++) {
    for (let t = 0; t < x.length; t++) {
      const scores = k.map((kr) => {
        let s = 0;
        for (let j = 0; j < dh; j++) s += q[t][h * dh + j] * kr[h * dh + j];
        return s * dh ** -0.5;
      });
      const max = Math.max(...scores);
      const exps = scores.map((s) => Math.exp(s - max));
      const sum = exps.reduce((a, e) => a + e, 0);
      for (let u = 0; u < x.length; u++) {
        for (let j = 0; j < dh; j++) out[t][h * dh + j] += (exps[u] / sum) * v[u][h * dh + j];
      }
    }
  }
  return linearRef(out, w, `${l}self_attn.out_proj`);
}

/** HF's hidden_states (embeddings, then each layer) and last_hidden_state for one image (C, S, S). */
function siglipRef(w: Weights, image: Float32Array): { hidden: Matrix[]; last: Matrix } {
  const { hidden: d, channels: c, patch: p, image: s } = cfg;
  const grid = s / p;
  const conv = w['embeddings.patch_embedding.weight'].data;
  const bias = w['embeddings.patch_embedding.bias'].data;
  const pos = w['embeddings.position_embedding.weight'].data;
  let x: Matrix = [];
  for (let py = 0; py < grid; py++) {
    for (let px = 0; px < grid; px++) {
      const token = Float64Array.from({ length: d }, (_, o) => {
        let acc = bias[o] + pos[(py * grid + px) * d + o];
        for (let ch = 0; ch < c; ch++)
          for (let ky = 0; ky < p; ky++)
            for (let kx = 0; kx < p; kx++)
              acc += conv[((o * c + ch) * p + ky) * p + kx] * image[(ch * s + py * p + ky) * s + px * p + kx];
        return acc;
      });
      x.push(token);
    }
  }
  const hidden = [x];
  for (let i = 0; i < cfg.layers; i++) {
    const l = `encoder.layers.${i}.`;
    x = addRows(x, attentionRef(layerNormRef(x, w, `${l}layer_norm1`), w, l));
    const up = linearRef(layerNormRef(x, w, `${l}layer_norm2`), w, `${l}mlp.fc1`).map((r) =>
      r.map(geluTanhRef),
    );
    x = addRows(x, linearRef(up, w, `${l}mlp.fc2`));
    hidden.push(x);
  }
  return { hidden, last: layerNormRef(x, w, 'post_layernorm') };
}

// ---- the checks --------------------------------------------------------------------------------

function maxRelative(actual: HostTensor, expected: Matrix[]): number {
  const flat = expected.flatMap((m) => m.flatMap((row) => [...row]));
  const a = actual.data as Float32Array;
  assert.equal(a.length, flat.length);
  let diff = 0;
  let scale = 0;
  flat.forEach((v, i) => {
    diff = Math.max(diff, Math.abs(a[i] - v));
    scale = Math.max(scale, Math.abs(v));
  });
  return diff / scale;
}

function writeCheckpoint(
  dir: string,
  w: Weights,
  prefix: string,
  config: Record<string, unknown>,
  extra: Weights = {},
) {
  const tensors: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries({ ...w, ...extra })) {
    tensors[(name in w ? prefix : '') + name] = hostTensor('float32', t.dims, t.data);
  }
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
}

const visionConfig = {
  model_type: 'siglip_vision_model',
  hidden_size: cfg.hidden,
  intermediate_size: cfg.inter,
  num_hidden_layers: cfg.layers,
  num_attention_heads: cfg.heads,
  image_size: cfg.image,
  patch_size: cfg.patch,
  hidden_act: 'gelu_pytorch_tanh',
  layer_norm_eps: cfg.eps,
};

describe('SigLIP vision tower', () => {
  const weights = makeWeights(7);
  const next = random(99);
  const batch = 2;
  const pixels = Float32Array.from({ length: batch * cfg.channels * cfg.image ** 2 }, () => next() * 2);
  const perImage = cfg.channels * cfg.image ** 2;
  const refs = [0, 1].map((b) => siglipRef(weights, pixels.subarray(b * perImage, (b + 1) * perImage)));
  let dir: string;
  let tower: SiglipVisionTower;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mmit-siglip-'));
    writeCheckpoint(dir, weights, 'vision_model.', visionConfig);
    tower = openSiglipVisionTower(dir);
  });
  after(() => {
    tower?.weights.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('matches the float64 reference: last_hidden_state, hidden_states[-1], hidden_states[0]', async () => {
    assert.equal(tower.weights.prefix, 'vision_model.');
    const graph = buildSiglipVisionGraph(tower, { lastHiddenState: true, hiddenStates: [-1, 0] });
    const session = await createSession(graph, { ep: 'cpu' });
    const out = await session.run({
      pixel_values: hostTensor('float32', [batch, 3, cfg.image, cfg.image], pixels),
    });
    await session.release();
    assert.deepEqual(out.last_hidden_state.dims, [batch, tokens, cfg.hidden]);
    const last = maxRelative(
      out.last_hidden_state,
      refs.map((r) => r.last),
    );
    const preNorm = maxRelative(
      out['hidden_states.-1'],
      refs.map((r) => r.hidden[cfg.layers]),
    );
    const embeddings = maxRelative(
      out['hidden_states.0'],
      refs.map((r) => r.hidden[0]),
    );
    assert.ok(last < 1e-4, `last_hidden_state ${last}`);
    assert.ok(preNorm < 1e-4, `hidden_states.-1 ${preNorm}`);
    assert.ok(embeddings < 1e-5, `hidden_states.0 ${embeddings}`);
  });

  it('gives LLaVA features from a full SiglipModel checkpoint (layer -2, every token kept)', async () => {
    const full = mkdtempSync(join(tmpdir(), 'mmit-siglip-full-'));
    try {
      // The text tower's weights sit beside the vision tower's and must not confuse the lookup.
      const text = {
        'text_model.embeddings.token_embedding.weight': {
          dims: [10, cfg.hidden],
          data: new Float64Array(10 * cfg.hidden),
        },
      };
      writeCheckpoint(
        full,
        weights,
        'vision_model.',
        { model_type: 'siglip', vision_config: visionConfig, text_config: {} },
        text,
      );
      const fullTower = openSiglipVisionTower(full);
      const graph = buildSiglipVisionGraph(fullTower, { features: { layer: -2, select: 'full' } });
      // Only the layers up to hidden_states[-2] are built.
      assert.ok(!graph.nodes.some((n) => n.name.startsWith(`layers.${cfg.layers - 1}/`)));
      const session = await createSession(graph, { ep: 'cpu' });
      const out = await session.run({
        pixel_values: hostTensor('float32', [batch, 3, cfg.image, cfg.image], pixels),
      });
      await session.release();
      fullTower.weights.close();
      const error = maxRelative(
        out.image_features,
        refs.map((r) => r.hidden[cfg.layers - 1]),
      );
      assert.ok(error < 1e-4, `image_features ${error}`);
    } finally {
      rmSync(full, { recursive: true, force: true });
    }
  });

  it("refuses 'patch' selection (no CLS token to drop) and pooler_output (head not built)", () => {
    assert.throws(
      () => buildSiglipVisionGraph(tower, { features: { layer: -1, select: 'patch' } }),
      FeatureRequestError,
    );
    assert.throws(() => buildSiglipVisionGraph(tower, { poolerOutput: true }), FeatureRequestError);
    assert.throws(() => buildSiglipVisionGraph(tower, { hiddenStates: [cfg.layers + 1] }), /out of range/);
  });
});
