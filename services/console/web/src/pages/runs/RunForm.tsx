// Start a run: a form over the run spec, checked as the user submits (each problem shown beside
// its field and announced), then sent to the trainer, whose own validation problems land on the
// same fields. On success it opens the new run.
import { type FormEvent, type ReactNode, useState } from 'react';
import { getJson, postJson } from '../../api/client.js';
import { ApiError } from '../../api/errors.js';
import type { DatasetManifest, EncoderStats, Page, RunState } from '../../api/types.js';
import { ErrorNotice } from '../../components/Feedback.js';
import { OptionalFields } from '../../components/OptionalFields.js';
import { navigate } from '../../lib/router.js';
import { useAsync } from '../../lib/use-async.js';
import {
  DEFAULT_RUN_FORM,
  type FieldErrors,
  fieldOfIssue,
  RUN_OPTIONS,
  type RunForm,
  type RunFormField,
  type RunOptionName,
  toRunSpec,
} from './run-form.js';

export function StartRunForm() {
  const datasets = useAsync(
    (signal) => getJson<Page<DatasetManifest>>('/v1/datasets?limit=1000', signal),
    [],
  );
  const caches = useAsync((signal) => getJson<{ items: EncoderStats[] }>('/v1/features', signal), []);
  const [form, setForm] = useState<RunForm>(DEFAULT_RUN_FORM);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const ready = (datasets.value?.items ?? []).filter((d) => d.status === 'ready');

  const set =
    <K extends Exclude<keyof RunForm, 'options'>>(field: K) =>
    (value: RunForm[K]) =>
      setForm((f) => ({ ...f, [field]: value }));
  const setOption = (name: RunOptionName, value: string) =>
    setForm((f) => ({ ...f, options: { ...f.options, [name]: value } }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    const built = toRunSpec({ ...form, datasetId: form.datasetId || ready[0]?.id || '' });
    if ('errors' in built) {
      setErrors(built.errors);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const state = await postJson<RunState>('/v1/runs', built.spec);
      navigate(`/runs/${state.id}`);
    } catch (err) {
      if (err instanceof ApiError) {
        const fromServer: FieldErrors = {};
        for (const issue of err.issues) {
          const field = fieldOfIssue(issue.path);
          if (field) fromServer[field] ??= issue.message;
        }
        setErrors(fromServer);
      }
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const field = (id: RunFormField, label: string, control: ReactNode, hint?: string) => (
    <div className="field">
      <label htmlFor={`run-${id}`}>{label}</label>
      {control}
      {hint && (
        <span id={`run-${id}-hint`} className="hint">
          {hint}
        </span>
      )}
      {errors[id] && (
        <span id={`run-${id}-error`} className="field-error">
          {errors[id]}
        </span>
      )}
    </div>
  );
  const describedBy = (id: RunFormField, hint = false) =>
    [hint ? `run-${id}-hint` : '', errors[id] ? `run-${id}-error` : ''].filter(Boolean).join(' ') ||
    undefined;
  const text = (
    id: Exclude<keyof RunForm, 'lora' | 'options'>,
    props: { type?: string; hint?: boolean; placeholder?: string } = {},
  ) => (
    <input
      id={`run-${id}`}
      type={props.type ?? 'text'}
      value={form[id]}
      placeholder={props.placeholder}
      aria-invalid={errors[id] ? true : undefined}
      aria-describedby={describedBy(id, props.hint)}
      onChange={(e) => set(id)(e.target.value as never)}
    />
  );
  const errorCount = Object.keys(errors).length;

  return (
    <section aria-labelledby="start-run-heading" className="panel">
      <h2 id="start-run-heading">Start a run</h2>
      <form onSubmit={submit} noValidate>
        {errorCount > 0 && (
          <p role="alert" className="notice error">
            {errorCount === 1 ? 'One field needs' : `${errorCount} fields need`} attention.
          </p>
        )}
        <div className="form-grid">
          {field('name', 'Name (optional)', text('name'))}
          {field(
            'datasetId',
            'Dataset',
            <select
              id="run-datasetId"
              value={form.datasetId || ready[0]?.id || ''}
              aria-invalid={errors.datasetId ? true : undefined}
              aria-describedby={describedBy('datasetId')}
              onChange={(e) => set('datasetId')(e.target.value)}
            >
              {ready.length === 0 && <option value="">No ready datasets</option>}
              {ready.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name} ({d.counts.samples} samples)
                </option>
              ))}
            </select>,
          )}
          <fieldset className="checks">
            <legend>Encoder</legend>
            <label>
              <input
                type="radio"
                name="encoder-source"
                checked={form.encoderSource === 'checkpoint'}
                onChange={() => set('encoderSource')('checkpoint')}
              />{' '}
              Checkpoint
            </label>
            <label>
              <input
                type="radio"
                name="encoder-source"
                checked={form.encoderSource === 'key'}
                onChange={() => set('encoderSource')('key')}
              />{' '}
              Cached features
            </label>
          </fieldset>
          {form.encoderSource === 'checkpoint'
            ? field(
                'encoderCheckpoint',
                'Encoder checkpoint',
                text('encoderCheckpoint', { hint: true, placeholder: 'openai/clip-vit-large-patch14-336' }),
                'A folder with config.json + safetensors, or a Hugging Face repo id',
              )
            : field(
                'encoderKey',
                'Cached encoder key',
                <select
                  id="run-encoderKey"
                  value={form.encoderKey}
                  aria-invalid={errors.encoderKey ? true : undefined}
                  aria-describedby={describedBy('encoderKey')}
                  onChange={(e) => set('encoderKey')(e.target.value)}
                >
                  <option value="">Choose…</option>
                  {(caches.value?.items ?? []).map((c) => (
                    <option key={c.encoderKey} value={c.encoderKey}>
                      {c.encoderKey} ({c.items} items)
                    </option>
                  ))}
                </select>,
              )}
          {field(
            'lmCheckpoint',
            'Language model checkpoint',
            text('lmCheckpoint', { hint: true, placeholder: 'HuggingFaceTB/SmolLM2-135M-Instruct' }),
            'Llama or Qwen2 family: a folder or a Hugging Face repo id',
          )}
          {field(
            'projector',
            'Projector',
            <select
              id="run-projector"
              value={form.projector}
              onChange={(e) => set('projector')(e.target.value as RunForm['projector'])}
            >
              <option value="mlp2x_gelu">mlp2x_gelu</option>
              <option value="linear">linear</option>
            </select>,
          )}
          {field('lr', 'Learning rate', text('lr', { hint: true }), 'e.g. 1e-3 for a projector')}
          {field('batchSize', 'Batch size', text('batchSize', { type: 'number' }))}
          <fieldset className="checks">
            <legend>Length in</legend>
            <label>
              <input
                type="radio"
                name="run-length"
                checked={form.length === 'epochs'}
                onChange={() => set('length')('epochs')}
              />{' '}
              epochs
            </label>
            <label>
              <input
                type="radio"
                name="run-length"
                checked={form.length === 'steps'}
                onChange={() => set('length')('steps')}
              />{' '}
              steps
            </label>
          </fieldset>
          {field(
            'lengthValue',
            form.length === 'steps' ? 'Steps' : 'Epochs',
            text('lengthValue', { type: 'number' }),
          )}
          {field('evalEvery', 'Eval every (steps, 0 = at the end)', text('evalEvery', { type: 'number' }))}
          {field(
            'checkpointEvery',
            'Checkpoint every (steps, 0 = at the end)',
            text('checkpointEvery', { type: 'number' }),
          )}
          {field(
            'ep',
            'Execution provider',
            <select id="run-ep" value={form.ep} onChange={(e) => set('ep')(e.target.value as RunForm['ep'])}>
              <option value="cpu">cpu</option>
              <option value="webgpu">webgpu</option>
              <option value="cuda">cuda</option>
            </select>,
          )}
          {field(
            'template',
            'Template',
            <select
              id="run-template"
              value={form.template}
              onChange={(e) => set('template')(e.target.value as RunForm['template'])}
            >
              <option value="plain">plain (stage 1)</option>
              <option value="chat">chat</option>
            </select>,
          )}
          <div className="field">
            <label>
              <input type="checkbox" checked={form.lora} onChange={(e) => set('lora')(e.target.checked)} />{' '}
              Train LoRA adapters too
            </label>
          </div>
          {form.lora && field('loraRank', 'LoRA rank', text('loraRank', { type: 'number' }))}
          {form.lora && field('loraAlpha', 'LoRA alpha', text('loraAlpha', { type: 'number' }))}
        </div>
        <OptionalFields
          idPrefix="run"
          fields={RUN_OPTIONS}
          values={form.options}
          errors={errors}
          onChange={setOption}
          shown={(f) => f.group === 'Run'}
        />
        <OptionalFields
          idPrefix="run"
          summary="More options (tokenizer, encoder layers, optimizer, schedule, batches)"
          fields={RUN_OPTIONS}
          values={form.options}
          errors={errors}
          onChange={setOption}
          shown={(f) =>
            f.group !== 'Run' &&
            (form.lora || !(f.path.startsWith('lora.') || f.path === 'optimizer.loraLr')) &&
            (form.encoderSource === 'checkpoint' || !f.path.startsWith('encoder.spec.'))
          }
        />
        <button type="submit" disabled={busy}>
          Start run
        </button>
      </form>
      <ErrorNotice error={error} action="Starting the run" />
      <ErrorNotice error={datasets.error} action="Listing datasets" />
    </section>
  );
}
