// Datasets: the list and a form to make one from a corpus; with an id, that dataset in detail.
import { type FormEvent, useState } from 'react';
import { getJson, postJson, query } from '../../api/client.js';
import { followEvents } from '../../api/sse.js';
import type { CorpusManifest, DatasetManifest, JobRecord, Page, SampleKind } from '../../api/types.js';
import { ErrorNotice, ProgressBar, StatusBadge } from '../../components/Feedback.js';
import { Pager, useCursorPager } from '../../components/Pager.js';
import { formatCount, formatTime } from '../../lib/format.js';
import { Link, navigate } from '../../lib/router.js';
import { useAsync, useTitle } from '../../lib/use-async.js';
import { DatasetDetail } from './DatasetDetail.js';

export const SAMPLE_KINDS: SampleKind[] = ['brief', 'detailed', 'conversation', 'reasoning'];

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
  const [corpusId, setCorpusId] = useState('');
  const [name, setName] = useState('');
  const [kinds, setKinds] = useState<SampleKind[]>(['brief', 'detailed', 'conversation']);
  const [seed, setSeed] = useState(0);
  const [job, setJob] = useState<JobRecord>();
  const [created, setCreated] = useState<DatasetManifest>();
  const [error, setError] = useState<unknown>();
  const chosen = corpusId || corpora.value?.items[0]?.id || '';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const answer = await postJson<{ dataset: DatasetManifest; job: JobRecord }>('/v1/datasets', {
        corpusId: chosen,
        ...(name.trim() ? { name: name.trim() } : {}),
        recipe: { kinds: Object.fromEntries(kinds.map((k) => [k, {}])), seed },
      });
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
      setError(err);
    }
  };

  return (
    <section aria-labelledby="create-dataset-heading" className="panel">
      <h2 id="create-dataset-heading">New dataset from a corpus</h2>
      <form onSubmit={submit}>
        <div className="inline-form">
          <div className="field">
            <label htmlFor="dataset-corpus">Corpus</label>
            <select id="dataset-corpus" value={chosen} onChange={(e) => setCorpusId(e.target.value)} required>
              {(corpora.value?.items ?? []).map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name} ({c.counts.accepted} items)
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="dataset-name">Name (optional)</label>
            <input id="dataset-name" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="dataset-seed">Seed</label>
            <input
              id="dataset-seed"
              type="number"
              min={0}
              step={1}
              value={seed}
              onChange={(e) => setSeed(Number(e.target.value))}
            />
          </div>
        </div>
        <fieldset className="checks">
          <legend>Sample kinds</legend>
          {SAMPLE_KINDS.map((k) => (
            <label key={k}>
              <input
                type="checkbox"
                checked={kinds.includes(k)}
                onChange={(e) => setKinds(e.target.checked ? [...kinds, k] : kinds.filter((x) => x !== k))}
              />{' '}
              {k}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={!chosen || kinds.length === 0}>
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
