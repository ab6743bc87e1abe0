// Import an archive (zip, tar, tar.gz; or a WebDataset tar) uploaded from the browser: the bytes
// go up with progress, the service answers with an import job, and the job's progress streams
// back over server-sent events until it ends with a summary of what was and was not accepted.
import { useEffect, useRef, useState } from 'react';
import { uploadForm } from '../../api/client.js';
import { followEvents } from '../../api/sse.js';
import type { ImportFormat, JobRecord } from '../../api/types.js';
import { ErrorNotice, ProgressBar, StatusBadge } from '../../components/Feedback.js';
import { formatBytes } from '../../lib/format.js';
import { archiveFormatOf } from './upload-plan.js';

const ARCHIVE_FORMATS: ImportFormat[] = ['zip', 'tar', 'webdataset'];
const TERMINAL = ['succeeded', 'failed', 'cancelled'];

interface ImportSummaryView {
  entries: number;
  accepted: number;
  duplicate: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  notAccepted: { index: number; source: string; status: string; error?: { type: string; detail: string } }[];
}

export function ArchiveImport(props: { corpusId: string; onProgress: () => void }) {
  const [file, setFile] = useState<File>();
  const [format, setFormat] = useState<ImportFormat>('zip');
  const [sent, setSent] = useState<{ loaded: number; total: number }>();
  const [job, setJob] = useState<JobRecord>();
  const [error, setError] = useState<unknown>();
  const follow = useRef<AbortController | undefined>(undefined);
  const { onProgress } = props;

  useEffect(() => () => follow.current?.abort(), []);

  const pick = (f: File | undefined) => {
    setFile(f);
    const guessed = f && archiveFormatOf(f.name);
    if (guessed) setFormat(guessed);
  };

  const start = async () => {
    if (!file) return;
    setError(undefined);
    setJob(undefined);
    const form = new FormData();
    // The service reads fields before the file part, so `format` goes first.
    form.append('format', format);
    form.append('archive', file, file.name);
    try {
      const queued = await uploadForm<JobRecord>(`/v1/corpora/${props.corpusId}/imports`, form, setSent);
      setJob(queued);
      follow.current?.abort();
      const controller = new AbortController();
      follow.current = controller;
      await followEvents(
        `/v1/jobs/${queued.id}/events`,
        (event, data) => {
          if (event !== 'job') return;
          const record = data as JobRecord;
          setJob(record);
          if (TERMINAL.includes(record.status)) onProgress();
        },
        controller.signal,
      );
    } catch (err) {
      if (!(err instanceof DOMException && err.name === 'AbortError')) setError(err);
    }
  };

  const summary = job?.status === 'succeeded' ? (job.result as ImportSummaryView | undefined) : undefined;
  const uploading = sent !== undefined && job === undefined && !error;
  return (
    <div className="upload">
      <div className="inline-form">
        <div className="field">
          <label htmlFor="archive-file">Archive (.zip, .tar, .tar.gz)</label>
          <input
            id="archive-file"
            type="file"
            accept=".zip,.tar,.tgz,.gz,application/zip,application/x-tar,application/gzip"
            onChange={(e) => pick(e.target.files?.[0])}
          />
        </div>
        <div className="field">
          <label htmlFor="archive-format">Format</label>
          <select
            id="archive-format"
            value={format}
            onChange={(e) => setFormat(e.target.value as ImportFormat)}
          >
            {ARCHIVE_FORMATS.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </div>
        <button
          type="button"
          onClick={start}
          disabled={!file || uploading || (job && !TERMINAL.includes(job.status))}
        >
          Import archive
        </button>
      </div>
      {file && (
        <p>
          {file.name}, {formatBytes(file.size)}
        </p>
      )}
      {sent && (
        <ProgressBar
          label="Archive upload"
          progress={{
            done: Math.round(sent.loaded / 1024),
            total: Math.round(sent.total / 1024) || null,
            unit: 'KiB',
          }}
        />
      )}
      {job && (
        <div className="job" aria-live="polite">
          <p>
            Import job <code>{job.id}</code> <StatusBadge status={job.status} />
          </p>
          <ProgressBar label="Import progress" progress={job.progress} />
          {job.error && (
            <p role="alert" className="notice error">
              {job.error.detail}
            </p>
          )}
        </div>
      )}
      {summary && (
        <div role="status" className="notice">
          <p>
            {summary.entries} entries: {summary.accepted} accepted, {summary.duplicate} duplicates,{' '}
            {summary.rejected} rejected.
          </p>
          {summary.notAccepted.length > 0 && (
            <ul>
              {summary.notAccepted.slice(0, 50).map((o) => (
                <li key={o.index}>
                  {o.source}: <strong>{o.error?.type.replace(/_/g, ' ') ?? o.status}</strong>{' '}
                  {o.error?.detail}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <ErrorNotice error={error} action="Importing" />
    </div>
  );
}
