// Datasets: the list and a form to make one from a corpus; with an id, that dataset in detail.
import { type FormEvent, useState } from 'react';
import { getJson, postJson, query } from '../../api/client.js';
import { ApiError } from '../../api/errors.js';
import { followEvents } from '../../api/sse.js';
import type { CorpusManifest, DatasetManifest, JobRecord, Page, SampleKind } from '../../api/types.js';
import { ErrorNotice, ProgressBar, StatusBadge } from '../../components/Feedback.js';
import { OptionalFields } from '../../components/OptionalFields.js';
import { Pager, useCursorPager } from '../../components/Pager.js';
import { formatCount, formatTime } from '../../lib/format.js';
import { Link, navigate } from '../../lib/router.js';
import { useAsync, useTitle } from '../../lib/use-async.js';
import { DatasetDetail } from './DatasetDetail.js';
import {
  type DatasetFieldErrors,
  type DatasetForm,
  type DatasetFormField,
  DEFAULT_DATASET_FORM,
  fieldOfDatasetIssue,
  type KindChoice,
  RECIPE_OPTIONS,
  type RecipeOptionName,
  SAMPLE_KINDS,
  toDatasetRequest,
} from './dataset-form.js';

export function DatasetsPage(props: { datasetId?: string }) {
  useTitle(props.datasetId ? 'Dataset' : 'Datasets');
  if (props.datasetId) return <DatasetDetail datasetId={props.datasetId} />;
  return <DatasetList />;
}

function DatasetList() {
  const pager = useCursorPager();
  const [version, setVersion] = useState(0);
  const list = useAsync(
    (signal) =>
      getJson<Page<DatasetManifest>>(`/v1/datasets${query({ cursor: pager.cursor, limit: 50 })}`, signal),
    [pager.cursor, version],
  );
  return (
    <>
      <h1>Datasets</h1>
      <CreateDatasetForm onChange={() => setVersion((v) => v + 1)} />
      <section aria-labelledby="dataset-list-heading">
        <h2 id="dataset-list-heading">All datasets</h2>
        <ErrorNotice error={list.error} action="Listing datasets" />
        {list.value && list.value.items.length === 0 && <p>No datasets yet.</p>}
        {list.value && list.value.items.length > 0 && (
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Samples</th>
                <th scope="col">Kinds</th>
                <th scope="col">Items</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {list.value.items.map((d) => (
                <tr key={d.id}>
                  <th scope="row">
                    <Link to={`/datasets/${d.id}`}>{d.name}</Link>
                  </th>
                  <td>
                    <StatusBadge status={d.status} />
                  </td>
                  <td className="num">{formatCount(d.counts.samples)}</td>
                  <td>{Object.keys(d.recipe.kinds).join(', ')}</td>
                  <td className="num">
                    {formatCount(d.itemsDone)}
                    {d.totalItems !== null && ` / ${formatCount(d.totalItems)}`}
                  </td>
                  <td>{formatTime(d.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager pager={pager} nextCursor={list.value?.nextCursor} label="Dataset pages" />
      </section>
    </>
  );
}

function CreateDatasetForm(props: { onChange: () => void }) {
  const corpora = useAsync((signal) => getJson<Page<CorpusManifest>>('/v1/corpora?limit=1000', signal), []);
  const [form, setForm] = useState<DatasetForm>(DEFAULT_DATASET_FORM);
  const [errors, setErrors] = useState<DatasetFieldErrors>({});
  const [job, setJob] = useState<JobRecord>();
  const [created, setCreated] = useState<DatasetManifest>();
  const [error, setError] = useState<unknown>();
  const chosen = form.corpusId || corpora.value?.items[0]?.id || '';
  const setKind = (kind: SampleKind, change: Partial<KindChoice>) =>
    setForm((f) => ({ ...f, kinds: { ...f.kinds, [kind]: { ...f.kinds[kind], ...change } } }));
  const setOption = (name: RecipeOptionName, value: string) =>
    setForm((f) => ({ ...f, options: { ...f.options, [name]: value } }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    const built = toDatasetRequest({ ...form, corpusId: chosen });
    if ('errors' in built) {
      setErrors(built.errors);
      return;
    }
    setErrors({});
    try {
      const answer = await postJson<{ dataset: DatasetManifest; job: JobRecord }>('/v1/datasets', built.body);
      setCreated(answer.dataset);
      setJob(answer.job);
      props.onChange();
      await followEvents(
        `/v1/datasets/jobs/${answer.job.id}/events`,
        (event, data) => {
          if (event === 'job') setJob(data as JobRecord);
        },
        new AbortController().signal,
      );
      props.onChange();
    } catch (err) {
      if (err instanceof ApiError) {
        const fromServer: DatasetFieldErrors = {};
        for (const issue of err.issues) {
          const field = fieldOfDatasetIssue(issue.path);
          if (field) fromServer[field] ??= issue.message;
        }
        setErrors(fromServer);
      }
      setError(err);
    }
  };

  const errorCount = Object.keys(errors).length;
  const fieldError = (id: string, field: DatasetFormField) =>
    errors[field] && (
      <span id={id} className="field-error">
        {errors[field]}
      </span>
    );
  return (
    <section aria-labelledby="create-dataset-heading" className="panel">
      <h2 id="create-dataset-heading">New dataset from a corpus</h2>
      <form onSubmit={submit} noValidate>
        {errorCount > 0 && (
          <p role="alert" className="notice error">
            {errorCount === 1 ? 'One field needs' : `${errorCount} fields need`} attention.
          </p>
        )}
        <div className="inline-form">
          <div className="field">
            <label htmlFor="dataset-corpus">Corpus</label>
            <select
              id="dataset-corpus"
              value={chosen}
              onChange={(e) => setForm((f) => ({ ...f, corpusId: e.target.value }))}
              aria-invalid={errors.corpusId ? true : undefined}
              aria-describedby={errors.corpusId ? 'dataset-corpus-error' : undefined}
            >
              {(corpora.value?.items ?? []).map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name} ({c.counts.accepted} items)
                </option>
              ))}
            </select>
            {fieldError('dataset-corpus-error', 'corpusId')}
          </div>
          <div className="field">
            <label htmlFor="dataset-name">Name (optional)</label>
            <input
              id="dataset-name"
              value={form.name}
              maxLength={200}
              onChange={(e) => setForm((f) => ({ ...f, name: e.target.value }))}
            />
          </div>
        </div>
        <OptionalFields
          idPrefix="dataset"
          fields={RECIPE_OPTIONS}
          values={form.options}
          errors={errors}
          onChange={setOption}
          shown={(f) => f.group === 'Recipe'}
        />
        <fieldset className="kind-plan" aria-describedby={errors.kinds ? 'dataset-kinds-error' : undefined}>
          <legend>Sample kinds</legend>
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Samples per item</th>
                <th scope="col">Share of items</th>
              </tr>
            </thead>
            <tbody>
              {SAMPLE_KINDS.map((k) => (
                <tr key={k}>
                  <th scope="row">
                    <label>
                      <input
                        type="checkbox"
                        checked={form.kinds[k].on}
                        onChange={(e) => setKind(k, { on: e.target.checked })}
                      />{' '}
                      {k}
                    </label>
                  </th>
                  {(['perItem', 'ratio'] as const).map((part) => {
                    const field = `${part}.${k}` as const;
                    return (
                      <td key={part}>
                        <input
                          type="text"
                          inputMode="decimal"
                          className="narrow"
                          aria-label={`${k}: ${part === 'perItem' ? 'samples per item' : 'share of items'}`}
                          placeholder="1"
                          disabled={!form.kinds[k].on}
                          value={form.kinds[k][part]}
                          aria-invalid={errors[field] ? true : undefined}
                          aria-describedby={errors[field] ? `dataset-${part}-${k}-error` : undefined}
                          onChange={(e) => setKind(k, { [part]: e.target.value })}
                        />
                        {fieldError(`dataset-${part}-${k}-error`, field)}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
          {fieldError('dataset-kinds-error', 'kinds')}
        </fieldset>
        <OptionalFields
          idPrefix="dataset"
          summary="More options (filters, LLM generator)"
          fields={RECIPE_OPTIONS}
          values={form.options}
          errors={errors}
          onChange={setOption}
          shown={(f) => f.group !== 'Recipe'}
        />
        <button type="submit" disabled={!chosen}>
          Create dataset
        </button>
      </form>
      <ErrorNotice error={corpora.error} action="Listing corpora" />
      <ErrorNotice error={error} action="Creating the dataset" />
      {created && job && (
        <div aria-live="polite" className="job">
          <p>
            <Link to={`/datasets/${created.id}`}>{created.name}</Link> <StatusBadge status={job.status} />
          </p>
          <ProgressBar label="Dataset progress" progress={job.progress} />
          {job.status === 'succeeded' && (
            <button type="button" onClick={() => navigate(`/datasets/${created.id}`)}>
              Open dataset
            </button>
          )}
        </div>
      )}
    </section>
  );
}
