// One corpus: its counts and rejection reasons, uploads (files, a folder, or an archive), and the
// item grid. Uploads bump a version so the counts and the grid reload as items arrive.
import { useState } from 'react';
import { getJson } from '../../api/client.js';
import type { CorpusManifest } from '../../api/types.js';
import { ErrorNotice } from '../../components/Feedback.js';
import { formatCount, formatTime } from '../../lib/format.js';
import { Link } from '../../lib/router.js';
import { useAsync } from '../../lib/use-async.js';
import { ArchiveImport } from './ArchiveImport.js';
import { FileUpload } from './FileUpload.js';
import { ItemGrid } from './ItemGrid.js';

export function CorpusDetail(props: { corpusId: string }) {
  const [version, setVersion] = useState(0);
  const [mode, setMode] = useState<'files' | 'archive'>('files');
  const bump = () => setVersion((v) => v + 1);
  const corpus = useAsync(
    (signal) => getJson<CorpusManifest>(`/v1/corpora/${props.corpusId}`, signal),
    [props.corpusId, version],
  );
  const c = corpus.value;
  const reasons = Object.entries(c?.counts.rejectedByReason ?? {});
  return (
    <>
      <p className="breadcrumb">
        <Link to="/corpora">Corpora</Link> /
      </p>
      <h1>{c?.name ?? props.corpusId}</h1>
      <ErrorNotice error={corpus.error} action="Loading the corpus" />
      {c && (
        <>
          {c.description && <p>{c.description}</p>}
          <dl className="stats">
            <div>
              <dt>Accepted</dt>
              <dd data-testid="count-accepted">{formatCount(c.counts.accepted)}</dd>
            </div>
            <div>
              <dt>Duplicates</dt>
              <dd>{formatCount(c.counts.duplicate)}</dd>
            </div>
            <div>
              <dt>Near duplicates</dt>
              <dd>{formatCount(c.counts.nearDuplicate)}</dd>
            </div>
            <div>
              <dt>Rejected</dt>
              <dd>{formatCount(c.counts.rejected)}</dd>
            </div>
            <div>
              <dt>Images / audio</dt>
              <dd>
                {formatCount(c.counts.images)} / {formatCount(c.counts.audio)}
              </dd>
            </div>
            <div>
              <dt>Updated</dt>
              <dd>{formatTime(c.updatedAt)}</dd>
            </div>
          </dl>
          {reasons.length > 0 && (
            <p>
              Rejected by reason:{' '}
              {reasons.map(([reason, n]) => (
                <span key={reason} className="chip">
                  {reason.replace(/_/g, ' ')}: {n}
                </span>
              ))}
            </p>
          )}
        </>
      )}
      <section aria-labelledby="add-heading" className="panel">
        <h2 id="add-heading">Add items</h2>
        <fieldset className="segmented">
          <legend>Upload</legend>
          <label>
            <input
              type="radio"
              name="upload-mode"
              checked={mode === 'files'}
              onChange={() => setMode('files')}
            />{' '}
            Files or a folder
          </label>
          <label>
            <input
              type="radio"
              name="upload-mode"
              checked={mode === 'archive'}
              onChange={() => setMode('archive')}
            />{' '}
            An archive
          </label>
        </fieldset>
        {mode === 'files' ? (
          <FileUpload corpusId={props.corpusId} onUploaded={bump} />
        ) : (
          <ArchiveImport corpusId={props.corpusId} onProgress={bump} />
        )}
      </section>
      <ItemGrid corpusId={props.corpusId} version={version} />
    </>
  );
}
