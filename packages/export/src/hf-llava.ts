// `exportHfLlava`: a run as a Hugging Face LlavaForConditionalGeneration folder that Python
// transformers (and the tools built on it) load with from_pretrained:
//   config.json                  LlavaConfig (llava-config.ts)
//   model.safetensors            or model-0000i-of-0000n.safetensors + model.safetensors.index.json:
//                                the vision tower, the trained projector and the LM under
//                                transformers 5 names (llava-names.ts)
//   tokenizer files, chat_template.jinja, preprocessor_config.json, processor_config.json,
//   generation_config.json
//   lora-adapter/                with LoRA: the adapters as a PEFT folder (peft-adapter.ts)
// With LoRA, the LM weights in the folder have the adapters merged in (W + alpha/r B A) unless
// mergeLora is false. Tensors copied from the LM and tower keep their stored dtype; the projector
// and merged weights are float32.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loraMergedWeightNames, stackRows } from '@mmit/models';
import { numel, openCheckpoint, type TensorSource } from '@mmit/tensor';
import { llavaProjectorWeights } from './llava-config.js';
import { LLAVA_LM_HEAD, llavaLmName, llavaProjectorName, llavaVisionName } from './llava-names.js';
import { writeModelCard } from './model-card.js';
import { type ProgressFn, writeExportFolder } from './out-dir.js';
import { type ExportParts, openExportParts } from './parts.js';
import { writePeftAdapter } from './peft-adapter.js';
import type { ExportRun } from './run-source.js';
import { DEFAULT_MAX_SHARD_BYTES, type PendingTensor, writeShardedSafetensors } from './sharded-writer.js';
import { writeModelConfigs, writeTokenizerFiles } from './side-files.js';

export const LORA_ADAPTER_DIR = 'lora-adapter';

export interface HfExportOptions {
  /** Fold LoRA adapters into the LM weights (default true); the PEFT folder is written either way. */
  mergeLora?: boolean;
  /** Largest shard in bytes (default transformers' 5 GB). */
  maxShardBytes?: number;
  /** Write into a non-empty folder. */
  force?: boolean;
  /**
   * LoRA not merged: the adapter's `base_model_name_or_path` (default: this folder, resolved). A
   * folder written somewhere else first (the trainer service's exports) passes null, and whoever
   * puts it in its final place names that (setAdapterBase).
   */
  adapterBase?: string | null;
  onProgress?: ProgressFn;
}

export interface HfExportResult {
  dir: string;
  files: string[];
  tensors: number;
  totalBytes: number;
  loraMerged: boolean;
  /** The PEFT adapter folder, when the run trained LoRA. */
  adapterDir: string | null;
  /** LM checkpoint tensors left out (not part of the decoder, e.g. a LLaVA source's old projector). */
  skipped: string[];
}

/** The LM's tensors under LLaVA names; adapted linears read through the merged view. */
function lmTensors(
  run: ExportRun,
  parts: ExportParts,
  source: TensorSource,
): { pending: PendingTensor[]; skipped: string[] } {
  const merged = new Set(parts.loraMerged && run.lora ? loraMergedWeightNames(run.lora) : []);
  const tied = parts.lm.config.tieWordEmbeddings;
  const pending: PendingTensor[] = [];
  const skipped: string[] = [];
  for (const hfName of source.names()) {
    const ours = parts.lm.checkpoint.oursOf(hfName);
    const name = llavaLmName(hfName, ours);
    // A tied head is the embedding table: transformers saves it once, and so do we.
    if (name === null || (tied && name === LLAVA_LM_HEAD)) {
      skipped.push(hfName);
      continue;
    }
    const info = source.info(hfName);
    // A fused tensor (Phi-3's qkv_proj) with a merged part is its parts' merged rows, stacked again.
    pending.push(
      ours!.some((o) => merged.has(o))
        ? {
            name,
            byteLength: numel(info.dims) * 4,
            read: () => stackRows(ours!.map((o) => parts.lm.checkpoint.weight(o))),
          }
        : { name, byteLength: info.byteLength, read: () => source.read(hfName) },
    );
  }
  return { pending, skipped };
}

/** The tower's own tensors (those under its prefix in its checkpoint), renamed into the LLaVA body. */
function towerTensors(parts: ExportParts, source: TensorSource): PendingTensor[] {
  const prefix = parts.tower.weights.prefix;
  return source
    .names()
    .filter((n) => n.startsWith(prefix))
    .map((n) => ({
      name: llavaVisionName(n.slice(prefix.length)),
      byteLength: source.info(n).byteLength,
      read: () => source.read(n),
    }));
}

function projectorTensors(run: ExportRun): PendingTensor[] {
  return Object.entries(llavaProjectorWeights(run)).map(([ours, tensor]) => ({
    name: llavaProjectorName(ours),
    byteLength: tensor.data.byteLength,
    read: () => tensor,
  }));
}

/** Writes the HF LLaVA folder for `run` into `outDir` (see the file comment for its contents). */
export function exportHfLlava(run: ExportRun, outDir: string, options: HfExportOptions = {}): HfExportResult {
  return writeExportFolder(outDir, options.force, (staging) => writeHfLlava(run, outDir, staging, options));
}

function writeHfLlava(
  run: ExportRun,
  outDir: string,
  staging: string,
  options: HfExportOptions,
): HfExportResult {
  const progress = options.onProgress ?? (() => {});
  const parts = openExportParts(run, { mergeLora: options.mergeLora });
  const lmSource = openCheckpoint(run.lmDir);
  const towerSource = openCheckpoint(parts.tower.dir);
  try {
    const lm = lmTensors(run, parts, lmSource);
    const tensors = [...towerTensors(parts, towerSource), ...projectorTensors(run), ...lm.pending];
    progress(`writing ${tensors.length} tensors${parts.loraMerged ? ' (LoRA merged into the LM)' : ''}`);
    const weights = writeShardedSafetensors(
      staging,
      tensors,
      options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES,
    );
    const files = [
      ...writeModelConfigs(run, parts, staging, 'transformers'),
      ...writeTokenizerFiles(run.tokenizerDir, staging),
      ...weights.files,
    ];
    let adapterDir: string | null = null;
    if (run.lora) {
      adapterDir = join(outDir, LORA_ADAPTER_DIR);
      mkdirSync(join(staging, LORA_ADAPTER_DIR), { recursive: true });
      // Its base is this folder only when the adapters were not merged into it.
      const base = parts.loraMerged
        ? null
        : options.adapterBase !== undefined
          ? options.adapterBase
          : resolve(outDir);
      files.push(
        ...writePeftAdapter(run, parts.lm, join(staging, LORA_ADAPTER_DIR), base).map(
          (f) => `${LORA_ADAPTER_DIR}/${f}`,
        ),
      );
      progress(`wrote the PEFT adapter to ${adapterDir}`);
    }
    files.push(writeModelCard(run, parts, staging, { format: 'hf', loraMerged: parts.loraMerged }));
    return {
      dir: outDir,
      files,
      tensors: tensors.length,
      totalBytes: weights.totalBytes,
      loraMerged: parts.loraMerged,
      adapterDir,
      skipped: lm.skipped,
    };
  } finally {
    lmSource.close();
    towerSource.close();
    parts.close();
  }
}
