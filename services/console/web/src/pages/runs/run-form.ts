// The start-a-run form's fields, their checks, and the RunSpec they become. The checks here are
// the ones a person can fix in the form before sending (required fields, number ranges, steps or
// epochs); the trainer validates the spec again and checks what only it can see (does the
// dataset exist, do the encoder and LM fit together), and its field issues come back by path.
// First: zod's setting must be made before the schemas below are built.
import '../../lib/zod-csp.js';
import { z } from 'zod';
import type { LoraTarget, RunSpecInput } from '../../api/types.js';
import { allOf, applyOptional, fieldOfPath, type Leaves, type OptionalField } from '../../lib/spec-fields.js';

const positiveNumber = (label: string) =>
  z.coerce
    .number({ message: `${label} must be a number` })
    .refine((v) => Number.isFinite(v) && v > 0, { message: `${label} must be a number > 0` });
const wholeNumber = (label: string, min: number, max: number) =>
  z.coerce
    .number({ message: `${label} must be a number` })
    .int({ message: `${label} must be a whole number` })
    .min(min, { message: `${label} must be at least ${min}` })
    .max(max, { message: `${label} must be at most ${max}` });

export const RunFormSchema = z.object({
  name: z.string().trim().max(200, { message: 'Name: at most 200 characters' }),
  // The id pattern of @mmit/contracts (d_ + 22 Crockford base32 characters).
  datasetId: z.string().regex(/^d_[0-9A-HJKMNP-TV-Z]{22}$/, { message: 'Choose a dataset' }),
  encoderSource: z.enum(['key', 'checkpoint']),
  encoderKey: z.string().trim(),
  encoderCheckpoint: z.string().trim(),
  lmCheckpoint: z
    .string()
    .trim()
    .min(1, { message: 'Give the language model checkpoint (folder or repo id)' }),
  projector: z.enum(['mlp2x_gelu', 'linear']),
  lr: positiveNumber('Learning rate'),
  batchSize: wholeNumber('Batch size', 1, 4096),
  length: z.enum(['steps', 'epochs']),
  lengthValue: wholeNumber('Length', 1, 10_000_000),
  evalEvery: wholeNumber('Eval every', 0, 10_000_000),
  checkpointEvery: wholeNumber('Checkpoint every', 0, 10_000_000),
  lora: z.boolean(),
  loraRank: wholeNumber('LoRA rank', 1, 1024),
  loraAlpha: positiveNumber('LoRA alpha'),
  ep: z.enum(['cpu', 'webgpu', 'cuda']),
  template: z.enum(['plain', 'chat']),
});

const LORA_TARGETS = allOf<LoraTarget>()([
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
]);
type EncoderSpecInput = NonNullable<RunSpecInput['encoder']['spec']>;
const FEATURE_SELECTS = allOf<NonNullable<EncoderSpecInput['select']>>()([
  'patch',
  'cls_patch',
  'default',
  'full',
]);
const DTYPES = allOf<NonNullable<EncoderSpecInput['dtype']>>()(['float32', 'float16']);
const SCHEDULES = allOf<NonNullable<NonNullable<RunSpecInput['schedule']>['type']>>()(['cosine', 'constant']);

/**
 * The spec's fields beyond the main ones, each with the trainer's default as its placeholder.
 * Seed and media token come first: they are shown beside the main fields.
 */
export const RUN_OPTIONS = [
  {
    name: 'seed',
    path: 'seed',
    label: 'Seed',
    placeholder: '0',
    group: 'Run',
    kind: { type: 'number', int: true, min: 0, max: 2 ** 32 - 1 },
    hint: 'Initial weights and sample order: the same seed trains the same run',
  },
  {
    name: 'imageToken',
    path: 'lm.imageToken',
    label: 'Media token',
    placeholder: '<image>',
    group: 'Run',
    kind: { type: 'text', max: 100 },
    hint: 'The token in the prompt each feature row replaces (images and audio)',
  },
  {
    name: 'lmRevision',
    path: 'lm.revision',
    label: 'LM revision',
    placeholder: 'main (pinned to its commit when the run starts)',
    group: 'Language model',
    kind: { type: 'text', max: 200 },
    hint: 'Branch, tag or commit of a Hugging Face repo id',
  },
  {
    name: 'tokenizer',
    path: 'lm.tokenizer',
    label: 'Tokenizer folder',
    placeholder: "the LM checkpoint's own",
    group: 'Language model',
    kind: { type: 'text', max: 1000 },
  },
  {
    name: 'maxSeqLen',
    path: 'maxSeqLen',
    label: 'Max sequence length (tokens)',
    placeholder: '2048',
    group: 'Language model',
    kind: { type: 'number', int: true, min: 8, max: 131_072 },
  },
  {
    name: 'visionFeatureLayer',
    path: 'encoder.spec.visionFeatureLayer',
    label: 'Vision feature layer(s)',
    placeholder: '-2',
    group: 'Encoder (checkpoint)',
    kind: { type: 'ints', max: 8 },
    hint: 'An index into hidden_states, or several comma-separated (concatenated)',
  },
  {
    name: 'featureSelect',
    path: 'encoder.spec.select',
    label: 'Feature selection',
    placeholder: 'patch',
    group: 'Encoder (checkpoint)',
    kind: { type: 'enum', values: FEATURE_SELECTS },
  },
  {
    name: 'encoderRevision',
    path: 'encoder.spec.revision',
    label: 'Encoder revision',
    placeholder: 'main',
    group: 'Encoder (checkpoint)',
    kind: { type: 'text', max: 200 },
    hint: 'Branch, tag or commit of a Hugging Face repo id',
  },
  {
    name: 'processor',
    path: 'encoder.spec.processor',
    label: 'Processor folder',
    placeholder: "the encoder checkpoint's own",
    group: 'Encoder (checkpoint)',
    kind: { type: 'text', max: 1000 },
  },
  {
    name: 'encoderPrefix',
    path: 'encoder.spec.prefix',
    label: 'Weight prefix',
    placeholder: 'none',
    group: 'Encoder (checkpoint)',
    kind: { type: 'text', max: 200 },
    hint: 'Where the encoder lives in a checkpoint that holds several',
  },
  {
    name: 'featureDtype',
    path: 'encoder.spec.dtype',
    label: 'Stored features dtype',
    placeholder: 'float32',
    group: 'Encoder (checkpoint)',
    kind: { type: 'enum', values: DTYPES },
  },
  {
    name: 'encoderCompute',
    path: 'encoder.spec.compute',
    label: 'Encoder compute precision',
    placeholder: 'float32',
    group: 'Encoder (checkpoint)',
    kind: { type: 'enum', values: DTYPES },
  },
  {
    name: 'projectorInputDim',
    path: 'projector.inputDim',
    label: 'Projector input width',
    placeholder: "the encoder's",
    group: 'Projector and LoRA',
    kind: { type: 'number', int: true, min: 1 },
  },
  {
    name: 'loraTargets',
    path: 'lora.targets',
    label: 'LoRA target modules',
    placeholder: 'q_proj, v_proj',
    group: 'Projector and LoRA',
    kind: { type: 'list', values: LORA_TARGETS, min: 1 },
    hint: `Comma-separated: ${LORA_TARGETS.join(', ')}`,
  },
  {
    name: 'loraLr',
    path: 'optimizer.loraLr',
    label: 'LoRA learning rate',
    placeholder: 'the learning rate',
    group: 'Projector and LoRA',
    kind: { type: 'number', min: 0, exclusiveMin: true },
  },
  {
    name: 'betas',
    path: 'optimizer.betas',
    label: 'AdamW betas',
    placeholder: '0.9, 0.999',
    group: 'Optimizer',
    kind: { type: 'list' },
  },
  {
    name: 'eps',
    path: 'optimizer.eps',
    label: 'AdamW epsilon',
    placeholder: '1e-8',
    group: 'Optimizer',
    kind: { type: 'number', min: 0, exclusiveMin: true },
  },
  {
    name: 'weightDecay',
    path: 'optimizer.weightDecay',
    label: 'Weight decay',
    placeholder: '0',
    group: 'Optimizer',
    kind: { type: 'number', min: 0, max: 1 },
  },
  {
    name: 'decayBiases',
    path: 'optimizer.decayBiases',
    label: 'Decay biases too',
    placeholder: 'false',
    group: 'Optimizer',
    kind: { type: 'boolean' },
  },
  {
    name: 'maxGradNorm',
    path: 'maxGradNorm',
    label: 'Max gradient norm',
    placeholder: '1',
    group: 'Optimizer',
    kind: { type: 'numberOrOff', min: 0, exclusiveMin: true },
    hint: 'Global-norm clipping; off turns it off',
  },
  {
    name: 'scheduleType',
    path: 'schedule.type',
    label: 'Schedule',
    placeholder: 'cosine',
    group: 'Schedule',
    kind: { type: 'enum', values: SCHEDULES },
  },
  {
    name: 'warmupSteps',
    path: 'schedule.warmupSteps',
    label: 'Warm-up steps',
    placeholder: 'warm-up ratio × steps',
    group: 'Schedule',
    kind: { type: 'number', int: true, min: 0 },
  },
  {
    name: 'warmupRatio',
    path: 'schedule.warmupRatio',
    label: 'Warm-up ratio',
    placeholder: '0.03',
    group: 'Schedule',
    kind: { type: 'number', min: 0, max: 1 },
  },
  {
    name: 'minLrRatio',
    path: 'schedule.minLrRatio',
    label: 'Final learning rate ratio',
    placeholder: '0',
    group: 'Schedule',
    kind: { type: 'number', min: 0, max: 1 },
  },
  {
    name: 'gradAccumulation',
    path: 'gradAccumulation',
    label: 'Gradient accumulation (batches)',
    placeholder: '1',
    group: 'Batches',
    kind: { type: 'number', int: true, min: 1, max: 1024 },
  },
  {
    name: 'padToMultipleOf',
    path: 'padToMultipleOf',
    label: 'Pad to a multiple of (tokens)',
    placeholder: '16',
    group: 'Batches',
    kind: { type: 'number', int: true, min: 1, max: 256 },
  },
  {
    name: 'groupByLength',
    path: 'groupByLength',
    label: 'Group batches by length',
    placeholder: 'true',
    group: 'Batches',
    kind: { type: 'boolean' },
  },
  {
    name: 'allowDrops',
    path: 'allowDrops',
    label: 'Train without samples it cannot use',
    placeholder: 'false',
    group: 'Batches',
    kind: { type: 'boolean' },
    hint: 'Otherwise a run refuses a dataset with samples of a modality its encoder does not read',
  },
  {
    name: 'threads',
    path: 'threads',
    label: 'CPU threads',
    placeholder: "onnxruntime's choice",
    group: 'Batches',
    kind: { type: 'number', int: true, min: 1, max: 256 },
  },
] as const satisfies readonly OptionalField[];
export type RunOptionName = (typeof RUN_OPTIONS)[number]['name'];

/** What the inputs hold: text as typed (numbers are parsed by the schema), and the toggles. */
export interface RunForm {
  name: string;
  datasetId: string;
  encoderSource: 'key' | 'checkpoint';
  encoderKey: string;
  encoderCheckpoint: string;
  lmCheckpoint: string;
  projector: 'mlp2x_gelu' | 'linear';
  lr: string;
  batchSize: string;
  length: 'steps' | 'epochs';
  lengthValue: string;
  evalEvery: string;
  checkpointEvery: string;
  lora: boolean;
  loraRank: string;
  loraAlpha: string;
  ep: 'cpu' | 'webgpu' | 'cuda';
  template: 'plain' | 'chat';
  /** Every other field of the spec, as typed; empty ones are not sent. */
  options: Partial<Record<RunOptionName, string>>;
}
export type RunFormField = Exclude<keyof RunForm, 'options'> | RunOptionName;

export const DEFAULT_RUN_FORM: RunForm = {
  name: '',
  datasetId: '',
  encoderSource: 'checkpoint',
  encoderKey: '',
  encoderCheckpoint: '',
  lmCheckpoint: '',
  projector: 'mlp2x_gelu',
  lr: '1e-3',
  batchSize: '16',
  length: 'epochs',
  lengthValue: '1',
  evalEvery: '0',
  checkpointEvery: '0',
  lora: false,
  loraRank: '8',
  loraAlpha: '16',
  ep: 'cpu',
  template: 'plain',
  options: {},
};

export type FieldErrors = Partial<Record<RunFormField, string>>;

/** The spec to POST, or the first problem with each field. */
export function toRunSpec(form: RunForm): { spec: RunSpecInput } | { errors: FieldErrors } {
  const parsed = RunFormSchema.safeParse(form);
  const errors: FieldErrors = {};
  for (const issue of parsed.error?.issues ?? []) errors[issue.path[0] as RunFormField] ??= issue.message;
  // Checked here rather than in a zod refinement, which would only run once every field is valid.
  if (form.encoderSource === 'key' && !form.encoderKey.trim())
    errors.encoderKey = 'Choose a cached encoder key';
  if (form.encoderSource === 'checkpoint' && !form.encoderCheckpoint.trim())
    errors.encoderCheckpoint = 'Give the encoder checkpoint (folder or repo id)';
  // The spec parts the form turned off take none of their options.
  const off = [
    ...(form.lora ? [] : ['lora', 'optimizer.loraLr']),
    ...(form.encoderSource === 'key' ? ['encoder.spec'] : []),
  ];
  const optional: Record<string, unknown> = {};
  Object.assign(errors, applyOptional(RUN_OPTIONS, form.options, optional, off));
  // Betas are read as a list of two; the table's list kind keeps them as text.
  const optimizer = optional.optimizer as { betas?: (string | number)[] } | undefined;
  if (optimizer?.betas) {
    const numbers = optimizer.betas.map(Number);
    if (numbers.length !== 2 || !numbers.every((b) => b >= 0 && b < 1))
      errors.betas = 'AdamW betas: two numbers in [0, 1), e.g. 0.9, 0.999';
    else optimizer.betas = numbers;
  }
  if (!parsed.success || Object.keys(errors).length > 0) return { errors };
  const f = parsed.data;
  const o = optional as Partial<RunSpecInput> & { encoder?: { spec?: object } };
  const spec: RunSpecInput = {
    ...o,
    ...(f.name ? { name: f.name } : {}),
    datasetId: f.datasetId,
    encoder:
      f.encoderSource === 'key'
        ? { key: f.encoderKey }
        : { spec: { ...o.encoder?.spec, checkpoint: f.encoderCheckpoint } },
    lm: { ...o.lm, checkpoint: f.lmCheckpoint },
    projector: { ...o.projector, type: f.projector },
    optimizer: { ...o.optimizer, lr: f.lr },
    batchSize: f.batchSize,
    ...(f.length === 'steps' ? { steps: f.lengthValue } : { epochs: f.lengthValue }),
    evalEvery: f.evalEvery,
    checkpointEvery: f.checkpointEvery,
    ...(f.lora ? { lora: { ...o.lora, rank: f.loraRank, alpha: f.loraAlpha } } : {}),
    ep: f.ep,
    template: f.template,
  };
  return { spec };
}

/**
 * Every leaf of the run spec and the form field that sets it. Typed over the contracts' spec, so
 * a field the trainer starts to accept fails the typecheck until the form has it.
 */
const FIELD_OF_SPEC_PATH: Record<Leaves<RunSpecInput>, RunFormField> = {
  name: 'name',
  datasetId: 'datasetId',
  // First among the encoder's: an issue about the encoder as a whole lands on the checkpoint.
  'encoder.spec.checkpoint': 'encoderCheckpoint',
  'encoder.key': 'encoderKey',
  'encoder.spec.visionFeatureLayer': 'visionFeatureLayer',
  'encoder.spec.select': 'featureSelect',
  'encoder.spec.processor': 'processor',
  'encoder.spec.prefix': 'encoderPrefix',
  'encoder.spec.dtype': 'featureDtype',
  'encoder.spec.compute': 'encoderCompute',
  'lm.checkpoint': 'lmCheckpoint',
  'lm.tokenizer': 'tokenizer',
  'lm.imageToken': 'imageToken',
  'lm.revision': 'lmRevision',
  'encoder.spec.revision': 'encoderRevision',
  allowDrops: 'allowDrops',
  'projector.type': 'projector',
  'projector.inputDim': 'projectorInputDim',
  'lora.rank': 'loraRank',
  'lora.alpha': 'loraAlpha',
  'lora.targets': 'loraTargets',
  'optimizer.lr': 'lr',
  'optimizer.loraLr': 'loraLr',
  'optimizer.betas': 'betas',
  'optimizer.eps': 'eps',
  'optimizer.weightDecay': 'weightDecay',
  'optimizer.decayBiases': 'decayBiases',
  'schedule.type': 'scheduleType',
  'schedule.warmupSteps': 'warmupSteps',
  'schedule.warmupRatio': 'warmupRatio',
  'schedule.minLrRatio': 'minLrRatio',
  batchSize: 'batchSize',
  gradAccumulation: 'gradAccumulation',
  maxGradNorm: 'maxGradNorm',
  epochs: 'lengthValue',
  steps: 'lengthValue',
  seed: 'seed',
  template: 'template',
  maxSeqLen: 'maxSeqLen',
  padToMultipleOf: 'padToMultipleOf',
  groupByLength: 'groupByLength',
  evalEvery: 'evalEvery',
  checkpointEvery: 'checkpointEvery',
  ep: 'ep',
  threads: 'threads',
};

/** The form field a trainer issue path (`body.optimizer.lr`) is about, if the form has one. */
export function fieldOfIssue(path: string): RunFormField | undefined {
  return fieldOfPath(FIELD_OF_SPEC_PATH, path);
}
