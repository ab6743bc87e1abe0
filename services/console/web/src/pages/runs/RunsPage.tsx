// Runs: every run with its status and latest loss, a selection to compare, and the form to start
// one; with an id, that run live.
import { useState } from 'react';
import { getJson } from '../../api/client.js';
import type { RunState } from '../../api/types.js';
import { ErrorNotice, StatusBadge } from '../../components/Feedback.js';
import { formatNumber, formatTime } from '../../lib/format.js';
import { Link } from '../../lib/router.js';
import { useAsync, useInterval, useTitle } from '../../lib/use-async.js';
import { CompareRuns } from './CompareRuns.js';
import { RunDetail } from './RunDetail.js';
import { StartRunForm } from './RunForm.js';

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

export function RunsPage(props: { runId?: string }) {
  useTitle(props.runId ? 'Run' : 'Runs');
  if (props.runId) return <RunDetail runId={props.runId} />;
  return <RunList />;
}

function RunList() {
  const runs = useAsync((signal) => getJson<{ items: RunState[] }>('/v1/runs', signal), []);
  const [selected, setSelected] = useState<string[]>([]);
  const [comparing, setComparing] = useState<RunState[]>();
  const items = runs.value?.items ?? [];
  useInterval(
    runs.reload,
    3000,
    items.some((r) => !TERMINAL.includes(r.status)),
  );
  const toggle = (id: string, on: boolean) =>
    setSelected((s) => (on ? [...s, id] : s.filter((x) => x !== id)));
  return (
    <>
      <h1>Runs</h1>
      <section aria-labelledby="run-list-heading">
        <h2 id="run-list-heading">All runs</h2>
        <ErrorNotice error={runs.error} action="Listing runs" />
        {runs.value && items.length === 0 && <p>No runs yet: start one below.</p>}
        {items.length > 0 && (
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Compare</th>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Step</th>
                <th scope="col">Loss</th>
                <th scope="col">Validation loss</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={r.id}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Compare ${r.name ?? r.id}`}
                      checked={selected.includes(r.id)}
                      onChange={(e) => toggle(r.id, e.target.checked)}
                    />
                  </td>
                  <th scope="row">
                    <Link to={`/runs/${r.id}`}>{r.name ?? r.id}</Link>
                  </th>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td className="num">
                    {r.step}
                    {r.totalSteps !== null && ` / ${r.totalSteps}`}
                  </td>
                  <td className="num">{r.latest ? formatNumber(r.latest.loss, 4) : '–'}</td>
                  <td className="num">{r.lastEval ? formatNumber(r.lastEval.loss, 4) : '–'}</td>
                  <td>{formatTime(r.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <div className="actions">
          <button
            type="button"
            disabled={selected.length < 2}
            onClick={() => setComparing(items.filter((r) => selected.includes(r.id)))}
          >
            Compare selected ({selected.length})
          </button>
        </div>
      </section>
      {comparing && <CompareRuns runs={comparing} />}
      <StartRunForm />
    </>
  );
}
