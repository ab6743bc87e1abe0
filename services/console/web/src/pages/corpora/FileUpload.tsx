// Upload files or a whole folder from the browser: media files with captions from same-named
// .txt sidecars, sent in batches as multipart (a `caption` field before each file), with byte
// progress and every file's outcome (accepted, duplicate, or rejected with the reason).
import { useRef, useState } from 'react';
import { uploadForm } from '../../api/client.js';
import type { UploadResponse } from '../../api/types.js';
import { ErrorNotice, ProgressBar } from '../../components/Feedback.js';
import { formatBytes } from '../../lib/format.js';
import { batches, planUpload } from './upload-plan.js';

/** Keeps one request well under the service's per-request limits and quick to retry. */
const BATCH_FILES = 50;
const BATCH_BYTES = 64 * 1024 * 1024;

type Outcome = UploadResponse['outcomes'][number];

interface Picked {
  path: string;
  size: number;
  file: File;
}

function picked(list: FileList | null): Picked[] {
  return Array.from(list ?? []).map((file) => ({
    path: file.webkitRelativePath || file.name,
    size: file.size,
    file,
  }));
}

export function FileUpload(props: { corpusId: string; onUploaded: () => void }) {
  const [files, setFiles] = useState<Picked[]>([]);
  const [sent, setSent] = useState({ loaded: 0, total: 0 });
  const [outcomes, setOutcomes] = useState<Outcome[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const abort = useRef<AbortController | undefined>(undefined);
  const plan = planUpload(files);

  const upload = async () => {
    const controller = new AbortController();
    abort.current = controller;
    setBusy(true);
    setError(undefined);
    setOutcomes([]);
    const total = plan.media.reduce((n, m) => n + m.file.size, 0);
    let before = 0;
    setSent({ loaded: 0, total });
    try {
      for (const batch of batches(plan.media, BATCH_FILES, BATCH_BYTES)) {
        const form = new FormData();
        for (const { file, captionFile } of batch) {
          if (captionFile) form.append('caption', (await captionFile.file.text()).trim());
          form.append('file', file.file, file.file.name);
        }
        const batchBytes = batch.reduce((n, m) => n + m.file.size, 0);
        const answer = await uploadForm<UploadResponse>(
          `/v1/corpora/${props.corpusId}/items`,
          form,
          // The multipart body is a little larger than the files; scale so the bar tracks files.
          (p) => setSent({ loaded: before + (p.total ? (p.loaded / p.total) * batchBytes : 0), total }),
          controller.signal,
        );
        before += batchBytes;
        setSent({ loaded: before, total });
        // Outcome indexes are per request; re-number them over the whole upload.
        setOutcomes((o) => [...o, ...answer.outcomes.map((x) => ({ ...x, index: o.length + x.index }))]);
        props.onUploaded();
      }
    } catch (err) {
      if (!(err instanceof DOMException && err.name === 'AbortError')) setError(err);
    } finally {
      setBusy(false);
    }
  };

  const accepted = outcomes.filter((o) => o.status === 'accepted').length;
  const duplicates = outcomes.filter((o) => o.status === 'duplicate').length;
  const rejected = outcomes.filter((o) => o.status === 'rejected');

  return (
    <div className="upload">
      <div className="inline-form">
        <div className="field">
          <label htmlFor="upload-files">Files (media and .txt captions)</label>
          <input id="upload-files" type="file" multiple onChange={(e) => setFiles(picked(e.target.files))} />
        </div>
        <div className="field">
          <label htmlFor="upload-folder">Or a folder</label>
          <input
            id="upload-folder"
            type="file"
            multiple
            ref={(el) => el?.setAttribute('webkitdirectory', '')}
            onChange={(e) => setFiles(picked(e.target.files))}
          />
        </div>
      </div>
      {files.length > 0 && (
        <p>
          {plan.media.length} media files ({plan.media.filter((m) => m.captionFile).length} with a caption
          file), {formatBytes(plan.media.reduce((n, m) => n + m.file.size, 0))}
          {plan.skipped.length > 0 && `; ${plan.skipped.length} other files will not be sent`}.
        </p>
      )}
      {plan.skipped.length > 0 && (
        <details>
          <summary>Files not sent ({plan.skipped.length})</summary>
          <ul>
            {plan.skipped.map((s) => (
              <li key={s.file.path}>
                {s.file.path}: {s.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
      <div className="actions">
        <button type="button" onClick={upload} disabled={busy || plan.media.length === 0}>
          Upload {plan.media.length || ''} files
        </button>
        {busy && (
          <button type="button" onClick={() => abort.current?.abort()}>
            Cancel upload
          </button>
        )}
      </div>
      {(busy || outcomes.length > 0) && (
        <ProgressBar
          label="Upload progress"
          progress={{
            done: Math.round(sent.loaded / 1024),
            total: Math.round(sent.total / 1024),
            unit: 'KiB',
          }}
        />
      )}
      <ErrorNotice error={error} action="Uploading" />
      {outcomes.length > 0 && (
        <div role="status" className="notice">
          <p>
            Uploaded {outcomes.length} files: {accepted} accepted, {duplicates} duplicates, {rejected.length}{' '}
            rejected.
          </p>
          {rejected.length > 0 && (
            <ul>
              {rejected.map((o) => (
                <li key={o.index}>
                  {o.source}: <strong>{o.error?.type.replace(/_/g, ' ')}</strong> {o.error?.detail}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
