// Corpora: the list with counts and a form to create one; with an id, that corpus in detail.
import { type FormEvent, useState } from 'react';
import { getJson, postJson, query } from '../../api/client.js';
import type { CorpusManifest, Page } from '../../api/types.js';
import { ErrorNotice } from '../../components/Feedback.js';
import { Pager, useCursorPager } from '../../components/Pager.js';
import { formatCount, formatTime } from '../../lib/format.js';
import { Link, navigate } from '../../lib/router.js';
import { useAsync, useTitle } from '../../lib/use-async.js';
import { CorpusDetail } from './CorpusDetail.js';

export function CorporaPage(props: { corpusId?: string }) {
  useTitle(props.corpusId ? 'Corpus' : 'Corpora');
  if (props.corpusId) return <CorpusDetail corpusId={props.corpusId} />;
  return <CorpusList />;
}

function CorpusList() {
  const pager = useCursorPager();
  const list = useAsync(
    (signal) =>
      getJson<Page<CorpusManifest>>(`/v1/corpora${query({ cursor: pager.cursor, limit: 50 })}`, signal),
    [pager.cursor],
  );
  return (
    <>
      <h1>Corpora</h1>
      <CreateCorpusForm />
      <section aria-labelledby="corpus-list-heading">
        <h2 id="corpus-list-heading">All corpora</h2>
        <ErrorNotice error={list.error} action="Listing corpora" />
        {list.value && list.value.items.length === 0 && <p>No corpora yet: create one above.</p>}
        {list.value && list.value.items.length > 0 && (
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Accepted</th>
                <th scope="col">Duplicates</th>
                <th scope="col">Rejected</th>
                <th scope="col">Images</th>
                <th scope="col">Audio</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {list.value.items.map((c) => (
                <tr key={c.id}>
                  <th scope="row">
                    <Link to={`/corpora/${c.id}`}>{c.name}</Link>
                  </th>
                  <td className="num">{formatCount(c.counts.accepted)}</td>
                  <td className="num">{formatCount(c.counts.duplicate)}</td>
                  <td className="num">{formatCount(c.counts.rejected)}</td>
                  <td className="num">{formatCount(c.counts.images)}</td>
                  <td className="num">{formatCount(c.counts.audio)}</td>
                  <td>{formatTime(c.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager pager={pager} nextCursor={list.value?.nextCursor} label="Corpus pages" />
      </section>
    </>
  );
}

function CreateCorpusForm() {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const corpus = await postJson<CorpusManifest>('/v1/corpora', { name, description });
      navigate(`/corpora/${corpus.id}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="create-corpus-heading" className="panel">
      <h2 id="create-corpus-heading">New corpus</h2>
      <form onSubmit={submit} className="inline-form">
        <div className="field">
          <label htmlFor="corpus-name">Name</label>
          <input
            id="corpus-name"
            required
            maxLength={200}
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
        </div>
        <div className="field grow">
          <label htmlFor="corpus-description">Description</label>
          <input
            id="corpus-description"
            maxLength={10_000}
            value={description}
            onChange={(e) => setDescription(e.target.value)}
          />
        </div>
        <button type="submit" disabled={busy || !name.trim()}>
          Create corpus
        </button>
      </form>
      <ErrorNotice error={error} action="Creating the corpus" />
    </section>
  );
}
