// The child process of exportInChildProcess (export-process.ts): reads one job from IPC, writes the
// export, answers with the result or the error, and exits.
import { detectEncoder } from '@mmit/models';
import { exportLoadedRun } from './command.js';
import { ExportError } from './errors.js';
import type { ChildExportJob, ChildExportMessage } from './export-process.js';

function send(message: ChildExportMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

process.once('message', async (raw) => {
  const { run, out, options } = raw as ChildExportJob;
  try {
    const family = detectEncoder(run.encoder.dir).family;
    const result = exportLoadedRun({ ...run, encoder: { ...run.encoder, family } }, out, {
      ...options,
      onProgress: (message) => void send({ type: 'progress', message }),
    });
    await send({ type: 'done', result });
  } catch (err) {
    await send({
      type: 'error',
      ...(err instanceof ExportError ? { problemCode: err.problemCode } : {}),
      message: err instanceof Error ? err.message : String(err),
    });
  }
  process.disconnect();
});
