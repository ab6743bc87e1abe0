// exportLoadedRun in a child Node process, for a service. The exporters are synchronous and
// CPU-bound (graph building, GBs of tensors read and written): inside the service's own process they
// would stall its event loop for minutes, and with it HTTP answers and the job engine's lease
// renewals (another replica would take the job over mid-export). A child process also gives its
// memory back to the system when it ends, and a cancel kills it at once. The run travels over IPC
// with the advanced serialization (typed arrays included) without its encoder family, which holds
// functions: the child detects it again from the same folder, as readTrainedRun does. Progress
// lines come back as messages. Sources run through tsx in every deployment (see infra/Dockerfile), so the child does too.
import { fork } from 'node:child_process';
import type { ExportCommandResult, WriteFormatsOptions } from './command.js';
import { ExportError, type ExportProblemCode } from './errors.js';
import type { ProgressFn } from './out-dir.js';
import type { ExportRun } from './run-source.js';

export type ChildExportOptions = Omit<WriteFormatsOptions, 'onProgress' | 'force'>;

/** What the parent sends the child (once), and what the child answers. */
export interface ChildExportJob {
  run: Omit<ExportRun, 'encoder'> & { encoder: Omit<ExportRun['encoder'], 'family'> };
  out: string;
  options: ChildExportOptions;
}
export type ChildExportMessage =
  | { type: 'progress'; message: string }
  | { type: 'done'; result: ExportCommandResult }
  | { type: 'error'; problemCode?: ExportProblemCode; message: string };

/**
 * Writes the run's export into `out` (a folder that must not exist yet, or be empty) in a child
 * process. Rejects with the child's ExportError (same code and message), or its other error's
 * message; `signal` kills the child, and `out` may then hold a partial staging folder.
 */
export function exportInChildProcess(
  run: ExportRun,
  out: string,
  options: ChildExportOptions,
  control: { onProgress?: ProgressFn; signal?: AbortSignal } = {},
): Promise<ExportCommandResult> {
  const entry = new URL('./export-process-main.ts', import.meta.url);
  return new Promise((resolve, reject) => {
    if (control.signal?.aborted) return reject(control.signal.reason);
    const child = fork(entry, [], {
      execArgv: ['--import', import.meta.resolve('tsx')],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      control.signal?.removeEventListener('abort', abort);
      fn();
    };
    const abort = () => {
      child.kill('SIGKILL');
      settle(() => reject(control.signal?.reason));
    };
    control.signal?.addEventListener('abort', abort, { once: true });
    child.on('message', (raw) => {
      const message = raw as ChildExportMessage;
      if (message.type === 'progress') control.onProgress?.(message.message);
      else if (message.type === 'done') settle(() => resolve(message.result));
      else
        settle(() =>
          reject(
            message.problemCode
              ? new ExportError(message.problemCode, message.message)
              : new Error(`export failed: ${message.message}`),
          ),
        );
    });
    child.on('error', (err) => settle(() => reject(err)));
    child.on('exit', (code, signal) =>
      settle(() =>
        reject(new Error(`the export process ended (${signal ?? `exit code ${code}`}) before it finished`)),
      ),
    );
    const { family: _family, ...encoder } = run.encoder;
    child.send({ run: { ...run, encoder }, out, options } satisfies ChildExportJob);
  });
}
