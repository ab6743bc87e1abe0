// Where a running import keeps its resume point: one small object per import job beside the
// corpus it fills (`corpora/<id>/imports/<jobId>.json`), holding the index below which every entry
// is published and the summary up to there. service-kit's JobRunner owns the job record itself
// (a handler only reports progress), so the checkpoint lives with the corpus, as synth keeps its
// resume point in the dataset manifest. The object goes once the import has succeeded.
import { ImportSummarySchema, JobId, keys } from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';
import { z } from 'zod';

export const ImportCheckpointSchema = z.object({
  resumeAt: z.number().int().nonnegative(),
  summary: ImportSummarySchema,
});
export type ImportCheckpoint = z.infer<typeof ImportCheckpointSchema>;

export class ImportCheckpoints {
  constructor(private readonly bucket: Bucket) {}

  read(corpusId: string, jobId: string): Promise<ImportCheckpoint | undefined> {
    return this.bucket.getJsonIfExists(checkpointKey(corpusId, jobId), ImportCheckpointSchema);
  }

  write(corpusId: string, jobId: string, checkpoint: ImportCheckpoint): Promise<void> {
    return this.bucket.putJson(checkpointKey(corpusId, jobId), checkpoint, ImportCheckpointSchema);
  }

  remove(corpusId: string, jobId: string): Promise<void> {
    return this.bucket.delete(checkpointKey(corpusId, jobId));
  }
}

/** Under the corpus prefix (which validates the corpus id); the job id is checked before it joins the key. */
function checkpointKey(corpusId: string, jobId: string): string {
  return `${keys.corpusPrefix(corpusId)}imports/${JobId.parse(jobId)}.json`;
}
