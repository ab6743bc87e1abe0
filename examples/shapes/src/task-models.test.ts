import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { planTask } from './generate.js';
import { lmPlan, lmPretraining, SHIPPED_LM_DIR, writeTaskModels } from './task-models.js';

test('a run whose words the LM corpus never says is refused before any pretraining', async () => {
  const plan = planTask({ seed: 3, train: 12, test: 4 });
  const workDir = mkdtempSync(join(tmpdir(), 'mmit-task-models-'));
  await assert.rejects(
    writeTaskModels(plan, { workDir, ...lmPretraining({ lmScenes: 1, lmSteps: 1 }) }),
    /never says '.+'.*raise --lm-scenes/,
  );
  assert.equal(existsSync(join(workDir, 'lm', 'model.safetensors')), false);
});

test('the LM shipped in the repository is the one the default settings name', () => {
  // A change to the LM's corpus, vocabulary, sizes or schedule changes the key: the shipped LM
  // must then be made again (examples/shapes/pretrained-lm/README.md says how), or every default
  // run would pretrain its own.
  const shipped = JSON.parse(readFileSync(join(SHIPPED_LM_DIR, 'pretraining.json'), 'utf8')) as {
    key: string;
  };
  const planned = lmPlan(lmPretraining({}));
  assert.equal(shipped.key, planned.key);
  const config = JSON.parse(readFileSync(join(SHIPPED_LM_DIR, 'config.json'), 'utf8')) as {
    vocab_size: number;
  };
  assert.equal(config.vocab_size, planned.vocabulary.length);
});
