// The start-a-run form's fields, their checks, and the RunSpec they become. The checks here are
// the ones a person can fix in the form before sending (required fields, number ranges, steps or
// epochs); the trainer validates the spec again and checks what only it can see (does the
// dataset exist, do the encoder and LM fit together), and its field issues come back by path.
import { z } from 'zod';
import type { RunSpecInput } from '../../api/types.js';

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
}
export type RunFormField = keyof RunForm;

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
  if (!parsed.success || Object.keys(errors).length > 0) return { errors };
  const f = parsed.data;
  const spec: RunSpecInput = {
    ...(f.name ? { name: f.name } : {}),
    datasetId: f.datasetId,
    encoder:
      f.encoderSource === 'key' ? { key: f.encoderKey } : { spec: { checkpoint: f.encoderCheckpoint } },
    lm: { checkpoint: f.lmCheckpoint },
    projector: { type: f.projector },
    optimizer: { lr: f.lr },
    batchSize: f.batchSize,
    ...(f.length === 'steps' ? { steps: f.lengthValue } : { epochs: f.lengthValue }),
    evalEvery: f.evalEvery,
    checkpointEvery: f.checkpointEvery,
    ...(f.lora ? { lora: { rank: f.loraRank, alpha: f.loraAlpha } } : {}),
    ep: f.ep,
    template: f.template,
  };
  return { spec };
}

/** The form field a trainer issue path (`body.optimizer.lr`) is about, if the form has one. */
export function fieldOfIssue(path: string): RunFormField | undefined {
  const p = path.replace(/^body\./, '');
  const table: [RegExp, RunFormField][] = [
    [/^name/, 'name'],
    [/^datasetId/, 'datasetId'],
    [/^encoder\.key/, 'encoderKey'],
    [/^encoder/, 'encoderCheckpoint'],
    [/^lm/, 'lmCheckpoint'],
    [/^projector/, 'projector'],
    [/^optimizer\.lr/, 'lr'],
    [/^batchSize/, 'batchSize'],
    [/^(steps|epochs)/, 'lengthValue'],
    [/^evalEvery/, 'evalEvery'],
    [/^checkpointEvery/, 'checkpointEvery'],
    [/^lora\.rank/, 'loraRank'],
    [/^lora\.alpha/, 'loraAlpha'],
    [/^ep/, 'ep'],
    [/^template/, 'template'],
  ];
  return table.find(([re]) => re.test(p))?.[1];
}
