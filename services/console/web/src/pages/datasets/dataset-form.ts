// The new-dataset form's fields and the request they become: every field of the recipe the synth
// service takes (kinds with their per-item count and share, generator, seed, validation share,
// item limit, filters, LLM options), as `mmit dataset create` offers them. Empty optional fields
// are left to the service's defaults; the service validates the request again and its issue
// paths map back onto these fields.
import type { RecipeInput, SampleKind } from '../../api/types.js';
import {
  allOf,
  applyOptional,
  fieldOfPath,
  type Leaves,
  type OptionalField,
  parseOptional,
} from '../../lib/spec-fields.js';

export const SAMPLE_KINDS = allOf<SampleKind>()(['brief', 'detailed', 'conversation', 'reasoning', 'vqa']);

type FilterInput = NonNullable<RecipeInput['filters']>;
const GENERATORS = allOf<NonNullable<RecipeInput['generator']>>()(['template', 'llm']);
const DUPLICATE_SCOPES = allOf<NonNullable<FilterInput['duplicateScope']>>()(['media', 'dataset']);
const INSTRUCTION_SCOPES = allOf<NonNullable<FilterInput['instructionScope']>>()(['item', 'dataset']);

/** The recipe's fields beyond the kinds, with the service's defaults as placeholders. */
export const RECIPE_OPTIONS = [
  {
    name: 'seed',
    path: 'seed',
    label: 'Seed',
    placeholder: '0',
    group: 'Recipe',
    kind: { type: 'number', int: true, min: 0, max: 2 ** 31 - 1 },
    hint: 'The same seed makes the same dataset',
  },
  {
    name: 'validation',
    path: 'split.validation',
    label: 'Validation share',
    placeholder: '0.05',
    group: 'Recipe',
    kind: { type: 'number', min: 0, max: 0.5 },
    hint: 'Fraction of items held out for validation (0 to 0.5)',
  },
  {
    name: 'generator',
    path: 'generator',
    label: 'Generator',
    placeholder: 'template',
    group: 'Recipe',
    kind: { type: 'enum', values: GENERATORS },
    hint: 'llm uses the model configured on the synth service',
  },
  {
    name: 'maxItems',
    path: 'maxItems',
    label: 'At most this many items',
    placeholder: 'all',
    group: 'Recipe',
    kind: { type: 'number', int: true, min: 1 },
  },
  ...(
    [
      ['minAnswerWords', 'Min answer words', '1', { type: 'number', int: true, min: 0 }],
      ['maxAnswerWords', 'Max answer words', '400', { type: 'number', int: true, min: 1 }],
      ['maxQuestionWords', 'Max question words', '60', { type: 'number', int: true, min: 1 }],
      ['nearDuplicateThreshold', 'Near-duplicate similarity', '0.85', { type: 'number', min: 0.5, max: 1 }],
      ['duplicateScope', 'Duplicates looked for among', 'media', { type: 'enum', values: DUPLICATE_SCOPES }],
      [
        'instructionSimilarity',
        'Max instruction similarity (ROUGE-L)',
        '0.7',
        { type: 'number', min: 0, max: 1 },
      ],
      [
        'instructionScope',
        'Instructions compared within',
        'item',
        { type: 'enum', values: INSTRUCTION_SCOPES },
      ],
      ['hedging', 'Drop hedging answers', 'true', { type: 'boolean' }],
      ['grounding', 'Drop ungrounded answers', 'true', { type: 'boolean' }],
      ['language', 'Language (ISO 639-1)', 'en', { type: 'text', max: 2 }],
      ['unsafeWords', 'Unsafe words (comma-separated)', 'the default list', { type: 'list' }],
    ] as const
  ).map(([name, label, placeholder, kind]) => ({
    name,
    path: `filters.${name}`,
    label,
    placeholder,
    group: 'Filters',
    kind,
  })),
  ...(
    [
      ['llmModel', 'model', 'Model', "the service's", { type: 'text' }],
      ['temperature', 'temperature', 'Temperature', '0.2', { type: 'number', min: 0, max: 2 }],
      [
        'maxTokens',
        'maxTokens',
        'Max tokens per reply',
        '700',
        { type: 'number', int: true, min: 16, max: 8192 },
      ],
      [
        'concurrency',
        'concurrency',
        'Requests in flight',
        '4',
        { type: 'number', int: true, min: 1, max: 64 },
      ],
      [
        'requestsPerMinute',
        'requestsPerMinute',
        'Requests per minute',
        '600',
        { type: 'number', int: true, min: 1, max: 100_000 },
      ],
      [
        'timeoutMs',
        'timeoutMs',
        'Timeout (ms)',
        '60000',
        { type: 'number', int: true, min: 100, max: 600_000 },
      ],
      ['retries', 'retries', 'Retries', '2', { type: 'number', int: true, min: 0, max: 10 }],
      ['maxRequests', 'maxRequests', 'Request budget', 'none', { type: 'number', int: true, min: 1 }],
      ['maxTotalTokens', 'maxTotalTokens', 'Token budget', 'none', { type: 'number', int: true, min: 1 }],
    ] as const
  ).map(([name, key, label, placeholder, kind]) => ({
    name,
    path: `llm.${key}`,
    label,
    placeholder,
    group: 'LLM generator',
    kind,
  })),
] as const satisfies readonly OptionalField[];
export type RecipeOptionName = (typeof RECIPE_OPTIONS)[number]['name'];

export interface KindChoice {
  on: boolean;
  /** Samples of this kind per chosen item (empty: the service's 1). */
  perItem: string;
  /** Share of items that get this kind (empty: the service's 1, every item). */
  ratio: string;
}

export interface DatasetForm {
  corpusId: string;
  name: string;
  kinds: Record<SampleKind, KindChoice>;
  options: Partial<Record<RecipeOptionName, string>>;
}
export type DatasetFormField =
  | 'corpusId'
  | 'name'
  | 'kinds'
  | `perItem.${SampleKind}`
  | `ratio.${SampleKind}`
  | RecipeOptionName;
export type DatasetFieldErrors = Partial<Record<DatasetFormField, string>>;

const ON_BY_DEFAULT: readonly SampleKind[] = ['brief', 'detailed', 'conversation'];

export const DEFAULT_DATASET_FORM: DatasetForm = {
  corpusId: '',
  name: '',
  kinds: Object.fromEntries(
    SAMPLE_KINDS.map((k) => [k, { on: ON_BY_DEFAULT.includes(k), perItem: '', ratio: '' }]),
  ) as Record<SampleKind, KindChoice>,
  options: {},
};

const PER_ITEM: OptionalField = {
  name: 'perItem',
  path: 'perItem',
  label: 'Per item',
  placeholder: '1',
  group: 'Kinds',
  kind: { type: 'number', int: true, min: 1, max: 10 },
};
const RATIO: OptionalField = {
  name: 'ratio',
  path: 'ratio',
  label: 'Share of items',
  placeholder: '1',
  group: 'Kinds',
  kind: { type: 'number', min: 0, max: 1 },
};

export interface CreateDatasetBody {
  corpusId: string;
  name?: string;
  recipe: RecipeInput;
}

/** The request to POST, or the first problem with each field. */
export function toDatasetRequest(
  form: DatasetForm,
): { body: CreateDatasetBody } | { errors: DatasetFieldErrors } {
  const errors: DatasetFieldErrors = {};
  if (!form.corpusId) errors.corpusId = 'Choose a corpus';
  if (form.name.trim().length > 200) errors.name = 'Name: at most 200 characters';
  const kinds: Record<string, { perItem?: number; ratio?: number }> = {};
  for (const kind of SAMPLE_KINDS) {
    const choice = form.kinds[kind];
    if (!choice.on) continue;
    const plan: { perItem?: number; ratio?: number } = {};
    for (const [field, text, key] of [
      [PER_ITEM, choice.perItem, `perItem.${kind}`],
      [RATIO, choice.ratio, `ratio.${kind}`],
    ] as const) {
      const parsed = parseOptional(field, text);
      if ('error' in parsed) errors[key] = `${kind}: ${parsed.error}`;
      else if ('value' in parsed) plan[field.name as 'perItem' | 'ratio'] = parsed.value as number;
    }
    kinds[kind] = plan;
  }
  if (Object.keys(kinds).length === 0) errors.kinds = 'Choose at least one kind';
  const recipe: Record<string, unknown> = { kinds };
  Object.assign(errors, applyOptional(RECIPE_OPTIONS, form.options, recipe));
  if (Object.keys(errors).length > 0) return { errors };
  const name = form.name.trim();
  return { body: { corpusId: form.corpusId, ...(name ? { name } : {}), recipe: recipe as RecipeInput } };
}

type KindLeaf = `kinds.${SampleKind}.${'perItem' | 'ratio'}`;

/**
 * Every leaf of the request and the form field that sets it, typed over the contracts' recipe:
 * a field the synth service starts to accept fails the typecheck until the form has it. (The
 * kinds' rows are made from SAMPLE_KINDS, itself checked to hold every kind.)
 */
const FIELD_OF_REQUEST_PATH: Record<
  Exclude<Leaves<{ corpusId: string; name: string; recipe: RecipeInput }>, `recipe.${KindLeaf}`>,
  DatasetFormField
> &
  Record<string, DatasetFormField> = {
  corpusId: 'corpusId',
  name: 'name',
  ...(Object.fromEntries(
    SAMPLE_KINDS.flatMap((k) => [
      [`recipe.kinds.${k}.perItem`, `perItem.${k}`],
      [`recipe.kinds.${k}.ratio`, `ratio.${k}`],
    ]),
  ) as Record<`recipe.${KindLeaf}`, DatasetFormField>),
  'recipe.generator': 'generator',
  'recipe.seed': 'seed',
  'recipe.split.validation': 'validation',
  'recipe.maxItems': 'maxItems',
  'recipe.filters.minAnswerWords': 'minAnswerWords',
  'recipe.filters.maxAnswerWords': 'maxAnswerWords',
  'recipe.filters.maxQuestionWords': 'maxQuestionWords',
  'recipe.filters.nearDuplicateThreshold': 'nearDuplicateThreshold',
  'recipe.filters.duplicateScope': 'duplicateScope',
  'recipe.filters.instructionSimilarity': 'instructionSimilarity',
  'recipe.filters.instructionScope': 'instructionScope',
  'recipe.filters.hedging': 'hedging',
  'recipe.filters.grounding': 'grounding',
  'recipe.filters.language': 'language',
  'recipe.filters.unsafeWords': 'unsafeWords',
  'recipe.llm.model': 'llmModel',
  'recipe.llm.temperature': 'temperature',
  'recipe.llm.maxTokens': 'maxTokens',
  'recipe.llm.concurrency': 'concurrency',
  'recipe.llm.requestsPerMinute': 'requestsPerMinute',
  'recipe.llm.timeoutMs': 'timeoutMs',
  'recipe.llm.retries': 'retries',
  'recipe.llm.maxRequests': 'maxRequests',
  'recipe.llm.maxTotalTokens': 'maxTotalTokens',
  // An issue about the kinds as a whole (none chosen).
  'recipe.kinds': 'kinds',
};

/** The form field a synth issue path (`body.recipe.split.validation`) is about, if the form has one. */
export function fieldOfDatasetIssue(path: string): DatasetFormField | undefined {
  return fieldOfPath(FIELD_OF_REQUEST_PATH, path);
}
