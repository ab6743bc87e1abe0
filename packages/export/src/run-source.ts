// What an export needs from a training run is what the train package's one reader gives
// (readTrainedRun: spec, state, one complete checkpoint's weights, the LM, tokenizer, encoder and
// processor folders, the encoder spec whole), read from the bucket alone, with no trainer service.
// Its problems become the export's own errors (same codes), so `mmit export` answers like before.
import type { Bucket } from '@mmit/storage';
import { type ReadTrainedRunOptions, readTrainedRun, type TrainedRun, TrainedRunError } from '@mmit/train';
import { ExportError } from './errors.js';

export type ExportRun = TrainedRun;
export type LoadRunOptions = ReadTrainedRunOptions;

export async function loadExportRun(
  bucket: Bucket,
  runId: string,
  options: LoadRunOptions = {},
): Promise<ExportRun> {
  try {
    return await readTrainedRun(bucket, runId, options);
  } catch (err) {
    if (err instanceof TrainedRunError) throw new ExportError(err.problem, err.message);
    throw err;
  }
}
