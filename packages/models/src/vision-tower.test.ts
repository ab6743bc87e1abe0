// HF hidden_states indexing and LLaVA feature-selection rules shared by the towers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  dropsFirstToken,
  FeatureRequestError,
  type FeatureSelect,
  hiddenStateIndex,
  layersNeeded,
} from './vision-tower.js';

describe('hidden_states indexing', () => {
  it('counts negative indexes from the end of a tuple of numLayers + 1 states', () => {
    assert.equal(hiddenStateIndex(-1, 24), 24);
    assert.equal(hiddenStateIndex(-2, 24), 23);
    assert.equal(hiddenStateIndex(-25, 24), 0);
    assert.equal(hiddenStateIndex(0, 24), 0);
    assert.equal(hiddenStateIndex(24, 24), 24);
  });

  it('rejects indexes outside the tuple with the valid range', () => {
    assert.throws(() => hiddenStateIndex(25, 24), /valid: -25\.\.24/);
    assert.throws(() => hiddenStateIndex(-26, 24), FeatureRequestError);
    assert.throws(() => hiddenStateIndex(1.5, 24), FeatureRequestError);
  });

  it('builds only the layers a request needs', () => {
    assert.equal(layersNeeded({ features: { layer: -2, select: 'patch' } }, 24), 23);
    assert.equal(layersNeeded({ features: { layer: [-2, 6], select: 'patch' } }, 24), 23);
    assert.equal(layersNeeded({ hiddenStates: [0] }, 24), 0);
    assert.equal(layersNeeded({ hiddenStates: [0], poolerOutput: true }, 24), 24);
  });
});

describe('feature selection', () => {
  it("drops the CLS token for LLaVA's 'patch' and HF's 'default', keeps it otherwise", () => {
    assert.equal(dropsFirstToken('patch'), true);
    assert.equal(dropsFirstToken('default'), true);
    assert.equal(dropsFirstToken('cls_patch'), false);
    assert.equal(dropsFirstToken('full'), false);
    assert.throws(() => dropsFirstToken('cls' as FeatureSelect), /valid: patch, cls_patch, default, full/);
  });
});
