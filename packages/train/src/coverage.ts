// What a run will train on, decided before any template work: each sample's modality against the
// run's encoder, and its media against the feature cache. A run on a dataset with audio samples and
// an image encoder once dropped every audio sample under "no cached features" and said nothing;
// here each left-out sample is counted under a reason that says what happened, the counts go to
// the run's state (`coverage`) at start, and the run refuses to start over modality or features
// drops unless its spec sets `allowDrops` (then they are left out and warned about).
import type { DropKind, Modality, RunCoverage, RunSpec } from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';
import { type DatasetSample, loadDataset } from './dataset.js';

export interface CoverageInput {
  /** The features key the run reads (null before it is known: a features job is still to name it). */
  encoderKey: string | null;
  /** The modality the encoder reads (null when it cannot be known yet). */
  encoderModality: Modality | null;
  /** Whether a media's features are cached; omitted before that can be known (when the run is created). */
  hasFeatures?: (sha256: string) => boolean;
}

export interface CoveragePlan {
  coverage: RunCoverage;
  /** Why a sample is left out; undefined for the samples that go on to the template. */
  dropReason(sample: DatasetSample): string | undefined;
}

const UNKNOWN = 'unknown';

export function planCoverage(samples: DatasetSample[], input: CoverageInput): CoveragePlan {
  const { encoderKey, encoderModality } = input;
  const encoderName = encoderKey ?? 'the encoder';
  const modalities: RunCoverage['modalities'] = {};
  const reasons = new Map<DatasetSample, { kind: DropKind; modality: string; reason: string }>();
  const missingMedia = new Set<string>();
  const covers = (modality: string) =>
    encoderModality === null || modality === UNKNOWN || modality === encoderModality;

  for (const sample of samples) {
    const modality = sample.modality ?? UNKNOWN;
    modalities[modality] ??= {
      samples: 0,
      train: 0,
      validation: 0,
      encoder: covers(modality) ? encoderKey : null,
    };
    modalities[modality].samples += 1;
    modalities[modality][sample.split] += 1;
    if (!sample.media) {
      reasons.set(sample, { kind: 'no_media', modality, reason: 'no media' });
    } else if (!covers(modality)) {
      reasons.set(sample, {
        kind: 'modality',
        modality,
        reason: `modality ${modality} has no encoder in this run (${encoderName} reads ${encoderModality})`,
      });
    } else if (input.hasFeatures && !input.hasFeatures(sample.media)) {
      missingMedia.add(sample.media);
      reasons.set(sample, { kind: 'features', modality, reason: '' });
    }
  }
  // The features reason names how many media lack them, so it is written once they are all counted.
  const featuresReason = `features missing for ${missingMedia.size} media under ${encoderName}: run the features job for this dataset`;
  const drops = new Map<string, RunCoverage['drops'][number]>();
  for (const entry of reasons.values()) {
    if (entry.kind === 'features') entry.reason = featuresReason;
    const id = `${entry.kind}\0${entry.modality}`;
    const drop = drops.get(id) ?? {
      kind: entry.kind,
      ...(entry.modality !== UNKNOWN ? { modality: entry.modality } : {}),
      samples: 0,
      ...(entry.kind === 'features' ? { media: missingMedia.size } : {}),
      reason: entry.reason,
    };
    drop.samples += 1;
    drops.set(id, drop);
  }
  return {
    coverage: {
      samples: samples.length,
      encoder: { key: encoderKey, modality: encoderModality },
      modalities,
      usable: samples.length - reasons.size,
      drops: [...drops.values()],
    },
    dropReason: (sample) => reasons.get(sample)?.reason,
  };
}

/** Drops a run refuses to start over unless `allowDrops`: the encoder cannot serve these samples. */
const REFUSED: readonly DropKind[] = ['modality', 'features'];

export function refusedDrops(coverage: RunCoverage): RunCoverage['drops'] {
  return coverage.drops.filter((d) => REFUSED.includes(d.kind));
}

/** How to fix each kind of refused drop, in the words of the spec and the CLI. */
function remedy(drop: RunCoverage['drops'][number]): string {
  if (drop.kind === 'modality') {
    return drop.modality === 'audio'
      ? 'train them in a run whose encoder reads audio (encoder.spec.checkpoint a Whisper checkpoint)'
      : `train them in a run whose encoder reads ${drop.modality} (encoder.spec.checkpoint a CLIP or SigLIP checkpoint)`;
  }
  return "compute them (mmit features run --dataset <id> --checkpoint <encoder>), or give encoder.spec with the trainer's MMIT_FEATURES_URL set so the run asks for them";
}

/** A run would leave out samples its encoder cannot serve, and the spec does not allow it (422). */
export class UnusableSamplesError extends Error {
  readonly problemCode = 'unusable_samples';
  readonly problemField = 'body.allowDrops';
  override name = 'UnusableSamplesError';
  constructor(
    readonly datasetId: string,
    readonly coverage: RunCoverage,
  ) {
    const refused = refusedDrops(coverage);
    const count = refused.reduce((n, d) => n + d.samples, 0);
    const each = refused.map((d) => `${d.samples} samples: ${d.reason}; ${remedy(d)}`).join('. ');
    super(
      `dataset ${datasetId}: ${count} of its ${coverage.samples} samples cannot be trained on by this run. ${each}. ` +
        `Or set "allowDrops": true in the spec to train on the other ${coverage.usable} samples without them.`,
    );
  }
}

/** Refuses the drops the spec does not allow (see REFUSED). */
export function checkCoverage(datasetId: string, coverage: RunCoverage, allowDrops: boolean): void {
  if (!allowDrops && refusedDrops(coverage).length > 0) throw new UnusableSamplesError(datasetId, coverage);
}

/** One paragraph for logs, the run's message and the CLI: what trains, on which encoder, what is left out. */
export function describeCoverage(coverage: RunCoverage): string {
  const parts = Object.entries(coverage.modalities).map(
    ([modality, m]) =>
      `${modality} ${m.samples} (${m.train} train, ${m.validation} validation) -> ${m.encoder ?? 'no encoder'}`,
  );
  const head = `${coverage.usable} of ${coverage.samples} samples usable: ${parts.join('; ')}`;
  if (coverage.drops.length === 0) return head;
  return `${head}. Left out: ${coverage.drops.map((d) => `${d.samples} (${d.reason})`).join('; ')}`;
}

/**
 * The check a run gets when it is created: samples of a modality the encoder does not read are
 * refused then (a 422 at POST, before anything is queued), when the encoder's modality is known
 * without features (an encoder key, or a checkpoint on disk). Missing features are not judged
 * here: a features job may still make them. Returns the coverage (null when nothing can be said yet).
 */
export async function precheckCoverage(
  bucket: Bucket,
  spec: RunSpec,
  encoderModality: Modality | null,
): Promise<RunCoverage | null> {
  if (encoderModality === null) return null;
  const samples = await loadDataset(bucket, spec.datasetId);
  const { coverage } = planCoverage(samples, { encoderKey: spec.encoder.key ?? null, encoderModality });
  checkCoverage(spec.datasetId, coverage, spec.allowDrops);
  return coverage;
}
