// Which models this server can answer for: base LMs named in the configuration (text only, by
// name) and every finished training run in the bucket, by run id and by the run's name (an alias,
// as vLLM's served model names). Listing reads the bucket each time, so a run that finishes shows
// up without a restart. A name that more than one finished run answers to is ambiguous: asking
// for it is an error that lists the run ids, and it is not listed as an alias. A base model's name
// (chosen by the operator) comes before run names: a run named like it gets no alias.
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

/** A model name more than one model answers to. */
export class AmbiguousModelError extends Error {
  override name = 'AmbiguousModelError';
  constructor(
    readonly model: string,
    readonly candidates: string[],
  ) {
    super(
      `model '${model}' is ambiguous: it names ${candidates.length} models (${candidates.join(', ')}); ask for one by its run id`,
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

  /** Base models, finished runs, then each unambiguous run name as an alias (`root`: its run). */
  async list(): Promise<ListedModel[]> {
    const base = Object.keys(this.baseModels).map((id) => ({ id, created: this.started, ownedBy: 'mmit' }));
    const runs = this.bucket ? await listFinishedRuns(this.bucket) : [];
    const aliases = runs.flatMap((run) => {
      if (!run.name || isRunId(run.name) || this.baseModels[run.name] !== undefined) return [];
      if (this.candidates(run.name, runs).length !== 1) return [];
      return [{ id: run.name, created: run.created, ownedBy: run.ownedBy, root: run.id }];
    });
    return [...base, ...runs, ...aliases];
  }

  /** Models `name` could mean: the base model of that name, else the runs of that name. */
  private candidates(name: string, runs: ListedModel[]): string[] {
    if (this.baseModels[name] !== undefined) return [name];
    return runs.filter((r) => r.name === name).map((r) => r.id);
  }

  /**
   * The model id (base name or run id) that `model` names: itself when it is one, else the one
   * finished run of that name. Throws ModelNotFoundError or AmbiguousModelError.
   */
  async resolve(model: string): Promise<string> {
    if (this.baseModels[model] !== undefined || isRunId(model)) {
      await this.require(model);
      return model;
    }
    const runs = this.bucket ? await listFinishedRuns(this.bucket) : [];
    const found = this.candidates(model, runs);
    if (found.length === 1) return found[0];
    if (found.length > 1) throw new AmbiguousModelError(model, found);
    throw new ModelNotFoundError(
      model,
      (await this.list()).map((m) => m.id),
    );
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
