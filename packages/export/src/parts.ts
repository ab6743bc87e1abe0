// The models an export is made of, opened from an ExportRun: the LM (with the run's LoRA
// adapters merged in when asked), the vision tower with the run's feature selection, the
// tokenizer and the image token. Also the checks that the pieces fit: the tower's feature width
// (times the number of concatenated layers) must equal the projector's input, and a selection that
// drops the CLS token needs a tower that has one. Both exporters start here, so the HF folder and
// the ONNX files are built from the same merged weights.
import {
  dropsFirstToken,
  type LanguageModel,
  languageModelFromCheckpoint,
  loadTokenizer,
  openCheckpointFolder,
  openVisionTower,
  type Tokenizer,
  type VisionTower,
  withMergedLora,
} from '@mmit/models';
import { ExportError } from './errors.js';
import type { ExportRun } from './run-source.js';

export interface ExportParts {
  /** What the graphs and the HF weights read: the LM checkpoint, or a view of it with LoRA merged. */
  lm: LanguageModel;
  loraMerged: boolean;
  tower: VisionTower;
  tokenizer: Tokenizer;
  imageToken: string;
  imageTokenId: number;
  /** Feature rows (= `<image>` tokens) per image. */
  imageSeqLength: number;
  /** HF `vision_feature_select_strategy`: 'default' drops CLS, 'full' keeps every token. */
  selectStrategy: 'default' | 'full';
  close(): void;
}

export interface PartsOptions {
  /** Fold the run's LoRA adapters into the LM weights (default true). */
  mergeLora?: boolean;
}

function openTower(run: ExportRun): VisionTower {
  try {
    return openVisionTower(
      run.encoder.dir,
      run.encoder.spec.prefix !== undefined ? { prefix: run.encoder.spec.prefix } : {},
    );
  } catch (err) {
    throw new ExportError(
      'validation',
      `encoder ${run.encoder.checkpoint}: ${(err as Error).message} (a LLaVA export needs a CLIP or SigLIP vision tower)`,
    );
  }
}

function checkTowerFitsProjector(run: ExportRun, tower: VisionTower): void {
  const layers = Array.isArray(run.encoder.spec.visionFeatureLayer)
    ? run.encoder.spec.visionFeatureLayer.length
    : 1;
  const width = tower.config.hiddenSize * layers;
  if (width !== run.projector.spec.inputDim) {
    throw new ExportError(
      'validation',
      `encoder ${run.encoder.checkpoint} gives ${width}-wide features (${layers} layer(s) x ${tower.config.hiddenSize}) ` +
        `but the projector of run ${run.runId} takes ${run.projector.spec.inputDim}; pass the encoder the run was trained with`,
    );
  }
}

export function openExportParts(run: ExportRun, options: PartsOptions = {}): ExportParts {
  const baseCheckpoint = openCheckpointFolder(run.lmDir);
  const merge = (options.mergeLora ?? true) && run.lora !== null;
  const lm = languageModelFromCheckpoint(merge ? withMergedLora(baseCheckpoint, run.lora!) : baseCheckpoint);
  if (run.projector.spec.outputDim !== lm.config.hiddenSize) {
    throw new ExportError(
      'validation',
      `the projector of run ${run.runId} outputs ${run.projector.spec.outputDim} but the LM ${run.spec.lm.checkpoint} is ${lm.config.hiddenSize} wide`,
    );
  }
  const tower = openTower(run);
  checkTowerFitsProjector(run, tower);
  const drop = dropsFirstToken(run.encoder.spec.select);
  if (drop && tower.kind !== 'clip') {
    throw new ExportError(
      'validation',
      `feature selection '${run.encoder.spec.select}' drops a CLS token but ${tower.kind} has none; the run must use 'full'`,
    );
  }
  const tokenizer = loadTokenizer(run.tokenizerDir);
  const imageToken = run.spec.lm.imageToken;
  let imageTokenId: number;
  try {
    imageTokenId = tokenizer.tokenId(imageToken);
  } catch {
    throw new ExportError(
      'validation',
      `the tokenizer in ${run.tokenizerDir} has no ${JSON.stringify(imageToken)} token`,
    );
  }
  const hasCls = tower.kind === 'clip';
  return {
    lm,
    loraMerged: merge,
    tower,
    tokenizer,
    imageToken,
    imageTokenId,
    imageSeqLength: tower.numPatches + (hasCls && !drop ? 1 : 0),
    selectStrategy: drop ? 'default' : 'full',
    close() {
      baseCheckpoint.close();
      tower.weights.close();
    },
  };
}
