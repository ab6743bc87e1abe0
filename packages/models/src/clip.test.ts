// CLIP vision tower against Hugging Face's numbers (case_clip), in the CLIPVisionModel layout of
// tiny-clip-vision and re-saved as a full CLIPModel (vision_model. prefix, nested vision_config,
// text tower beside it); LLaVA feature selection on top of the same golden hidden states.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createSession,
  type HostTensor,
  hostTensor,
  readSafetensors,
  toNumbers,
  writeSafetensors,
} from '@mmit/tensor';
import { fixture } from '../../../test/paths.js';
import { buildClipVisionGraph, type ClipVisionTower, openClipVisionTower } from './clip.js';
import { EncoderCheckpointError } from './vision-tower.js';

const golden = readSafetensors(fixture('case_clip.safetensors')).tensors;

function maxRelative(actual: HostTensor, expected: ArrayLike<number>): number {
  const a = toNumbers(actual);
  assert.equal(a.length, expected.length, 'element counts differ');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

/** Rows of a (B, T, D) tensor with the first `drop` tokens of each image removed. */
function dropTokens(t: HostTensor, drop: number): Float64Array {
  const [b, tokens, d] = t.dims;
  const src = toNumbers(t);
  const out = new Float64Array(b * (tokens - drop) * d);
  for (let i = 0; i < b; i++)
    out.set(src.subarray((i * tokens + drop) * d, (i + 1) * tokens * d), i * (tokens - drop) * d);
  return out;
}

describe('CLIP vision tower (case_clip)', () => {
  let tower: ClipVisionTower;
  before(() => {
    tower = openClipVisionTower(fixture('tiny-clip-vision'));
  });
  after(() => tower.weights.close());

  it('matches hidden_states[-2], last_hidden_state and pooler_output for both stored inputs (< 1e-4)', async () => {
    const graph = buildClipVisionGraph(tower, {
      hiddenStates: [-2],
      lastHiddenState: true,
      poolerOutput: true,
    });
    const session = await createSession(graph, { ep: 'cpu' });
    // One graph, two batch sizes: the batch dim is symbolic.
    for (const [input, prefix] of [
      ['pixel_values', ''],
      ['random_pixel_values', 'random.'],
    ] as const) {
      const out = await session.run({ pixel_values: golden[input] });
      for (const name of ['hidden_states.-2', 'last_hidden_state', 'pooler_output']) {
        const expected = golden[prefix + name];
        if (!expected) continue;
        assert.deepEqual(out[name].dims, expected.dims, `${prefix}${name} dims`);
        const error = maxRelative(out[name], toNumbers(expected));
        assert.ok(error < 1e-4, `${prefix}${name}: ${error}`);
      }
    }
    await session.release();
  });

  it("selects LLaVA features: 'patch' drops CLS, 'cls_patch' keeps it, a layer list concatenates", async () => {
    const hidden = golden['random.hidden_states.-2'];
    const run = async (layer: number | number[], select: 'patch' | 'cls_patch') => {
      const graph = buildClipVisionGraph(tower, { features: { layer, select } });
      const session = await createSession(graph, { ep: 'cpu', cache: false });
      const out = await session.run({ pixel_values: golden.random_pixel_values });
      await session.release();
      return { graph, features: out.image_features };
    };
    const patch = await run(-2, 'patch');
    assert.deepEqual(patch.features.dims, [2, tower.numPatches, tower.config.hiddenSize]);
    assert.ok(maxRelative(patch.features, dropTokens(hidden, 1)) < 1e-4);
    // Layer -2 needs every layer but the last: it is not built.
    const last = tower.config.numLayers - 1;
    assert.ok(
      !patch.graph.nodes.some((n) => n.name.startsWith(`layers.${last}/`)),
      'the last layer was built',
    );
    const full = await run(-2, 'cls_patch');
    assert.ok(maxRelative(full.features, toNumbers(hidden)) < 1e-4);
    const both = await run([-2, -1], 'patch');
    assert.deepEqual(both.features.dims, [2, tower.numPatches, 2 * tower.config.hiddenSize]);
    const second = toNumbers(both.features).filter(
      (_, i) => i % (2 * tower.config.hiddenSize) < tower.config.hiddenSize,
    );
    assert.ok(maxRelative(hostTensor('float32', patch.features.dims, second), dropTokens(hidden, 1)) < 1e-4);
  });
});

describe('CLIP vision tower from a full CLIPModel checkpoint', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mmit-clipmodel-'));
    const vision = readSafetensors(fixture('tiny-clip-vision/model.safetensors')).tensors;
    const tensors: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(vision)) tensors[`vision_model.${name}`] = t;
    tensors['text_model.embeddings.token_embedding.weight'] = hostTensor(
      'float32',
      [8, 16],
      new Float32Array(128),
    );
    tensors['visual_projection.weight'] = hostTensor('float32', [4, 64], new Float32Array(256));
    writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
    const visionConfig = JSON.parse(readFileSync(fixture('tiny-clip-vision/config.json'), 'utf8'));
    // Saved configs omit defaults: quick_gelu and layer_norm_eps 1e-5 must come from CLIPVisionConfig's defaults.
    delete visionConfig.hidden_act;
    delete visionConfig.layer_norm_eps;
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ model_type: 'clip', vision_config: visionConfig, text_config: {} }),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the tower under vision_model. and reproduces the golden last_hidden_state', async () => {
    const tower = openClipVisionTower(dir);
    assert.equal(tower.weights.prefix, 'vision_model.');
    assert.equal(tower.config.act, 'quick_gelu');
    const session = await createSession(buildClipVisionGraph(tower, { lastHiddenState: true }), {
      ep: 'cpu',
      cache: false,
    });
    const out = await session.run({ pixel_values: golden.random_pixel_values });
    await session.release();
    tower.weights.close();
    assert.ok(maxRelative(out.last_hidden_state, toNumbers(golden['random.last_hidden_state'])) < 1e-4);
  });

  it('names the missing tower and the prefix it was told to use', () => {
    assert.throws(() => openClipVisionTower(dir, { prefix: 'vision_tower.' }), EncoderCheckpointError);
    assert.throws(
      () => openClipVisionTower(dir, { prefix: 'vision_tower.' }),
      /vision_tower\.embeddings\.patch_embedding\.weight/,
    );
  });
});
