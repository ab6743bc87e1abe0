import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type DatasetForm,
  DEFAULT_DATASET_FORM,
  fieldOfDatasetIssue,
  SAMPLE_KINDS,
  toDatasetRequest,
} from './dataset-form.js';

const corpusId = 'c_01JD5ZZZZZZZZZZZZZZZZZ';
const withKinds = (change: Partial<DatasetForm['kinds']>): DatasetForm['kinds'] => ({
  ...DEFAULT_DATASET_FORM.kinds,
  ...change,
});

test('every kind the contracts name is offered, vqa included; three are on by default', () => {
  assert.deepEqual([...SAMPLE_KINDS], ['brief', 'detailed', 'conversation', 'reasoning', 'vqa']);
  const built = toDatasetRequest({ ...DEFAULT_DATASET_FORM, corpusId });
  assert.ok('body' in built);
  assert.deepEqual(built.body, {
    corpusId,
    recipe: { kinds: { brief: {}, detailed: {}, conversation: {} } },
  });
});

test('kinds with their plans, the validation share and the other recipe fields go where the service reads them', () => {
  const built = toDatasetRequest({
    corpusId,
    name: ' photos ',
    kinds: withKinds({
      brief: { on: false, perItem: '', ratio: '' },
      vqa: { on: true, perItem: '2', ratio: '0.5' },
    }),
    options: {
      seed: '9',
      validation: '0.2',
      generator: 'llm',
      maxItems: '100',
      duplicateScope: 'dataset',
      hedging: 'false',
      unsafeWords: 'gore, nsfw',
      temperature: '0.7',
      maxRequests: '50',
    },
  });
  assert.ok('body' in built, JSON.stringify(built));
  assert.deepEqual(built.body, {
    corpusId,
    name: 'photos',
    recipe: {
      kinds: { detailed: {}, conversation: {}, vqa: { perItem: 2, ratio: 0.5 } },
      seed: 9,
      split: { validation: 0.2 },
      generator: 'llm',
      maxItems: 100,
      filters: { duplicateScope: 'dataset', hedging: false, unsafeWords: ['gore', 'nsfw'] },
      llm: { temperature: 0.7, maxRequests: 50 },
    },
  });
});

test('problems are reported per field: the share above the CLI-and-service limit, a bad per-item count, no kinds', () => {
  const built = toDatasetRequest({
    corpusId,
    name: '',
    kinds: withKinds({ vqa: { on: true, perItem: '11', ratio: '' } }),
    options: { validation: '0.6' },
  });
  assert.ok('errors' in built);
  assert.deepEqual(built.errors, {
    'perItem.vqa': 'vqa: Per item must be at most 10',
    validation: 'Validation share must be at most 0.5',
  });
  const none = toDatasetRequest({
    corpusId: '',
    name: '',
    kinds: Object.fromEntries(
      SAMPLE_KINDS.map((k) => [k, { on: false, perItem: '', ratio: '' }]),
    ) as DatasetForm['kinds'],
    options: {},
  });
  assert.ok('errors' in none);
  assert.deepEqual(none.errors, { corpusId: 'Choose a corpus', kinds: 'Choose at least one kind' });
});

test("the synth service's issue paths map onto the form's fields", () => {
  assert.equal(fieldOfDatasetIssue('body.recipe.split.validation'), 'validation');
  assert.equal(fieldOfDatasetIssue('body.recipe.kinds.vqa.ratio'), 'ratio.vqa');
  assert.equal(fieldOfDatasetIssue('body.recipe.kinds'), 'kinds');
  assert.equal(fieldOfDatasetIssue('body.recipe.filters.unsafeWords.2'), 'unsafeWords');
  assert.equal(fieldOfDatasetIssue('body.recipe.llm.maxTokens'), 'maxTokens');
  assert.equal(fieldOfDatasetIssue('body.other'), undefined);
});
