// Which models this server can answer for: base LMs named in the configuration (text only, by
// name) and every finished training run in the bucket (by run id). Listing reads the bucket each
// time, so a run that finishes shows up without a restart.
import { keys } from '@mmit/contracts';
import { resolveCheckpoint } from '@mmit/models';
import type { Bucket } from '@mmit/storage';
import type { ModelDefinition } from '../engine/served-model.js';
import { isRunId, type ListedModel, listFinishedRuns, runDefinition } from './run-models.js';

export class ModelNotFoundError extends Error {
  override name = 'ModelNotFoundError';
  constructor(
    readonly model: string,
    available: string[],
  ) {
    super(
      `model '${model}' does not exist; available: ${available.length ? available.join(', ') : '(none)'}`,
    );
  }
}

export class ModelCatalog {
  private readonly started = Math.floor(Date.now() / 1000);

  constructor(
    private readonly bucket: Bucket | null,
    /** name -> checkpoint folder or Hugging Face repo id. */
    private readonly baseModels: Record<string, string>,
  ) {}

  async list(): Promise<ListedModel[]> {
    const base = Object.keys(this.baseModels).map((id) => ({ id, created: this.started, ownedBy: 'mmit' }));
    const runs = this.bucket ? await listFinishedRuns(this.bucket) : [];
    return [...base, ...runs];
  }

  /** Throws ModelNotFoundError unless `id` names a base model or a run (cheap: no weights read). */
  async require(id: string): Promise<void> {
    if (this.baseModels[id] !== undefined) return;
    if (this.bucket && isRunId(id) && (await this.bucket.exists(keys.runState(id)))) return;
    throw new ModelNotFoundError(
      id,
      (await this.list()).map((m) => m.id),
    );
  }

  async definition(id: string): Promise<ModelDefinition> {
    const base = this.baseModels[id];
    if (base !== undefined) {
      const dir = await resolveCheckpoint(base);
      return { id, lmDir: dir, tokenizerDir: dir, template: 'chat' };
    }
    if (this.bucket && isRunId(id)) {
      const run = await runDefinition(this.bucket, id);
      if (run) return run;
    }
    throw new ModelNotFoundError(
      id,
      (await this.list()).map((m) => m.id),
    );
  }
}
