// `exportTransformersJs`: a run as the folder transformers.js loads for LLaVA-style models
// (LlavaForConditionalGeneration.from_pretrained(folder) / pipeline('image-text-to-text')):
//   onnx/embed_tokens.onnx, onnx/vision_encoder.onnx, onnx/decoder_model_merged.onnx (onnx-graphs.ts),
//   config.json (the same LlavaConfig as the HF folder), generation_config.json, tokenizer files
//   (chat template inlined into tokenizer_config.json too), preprocessor_config.json, processor_config.json.
// float32 graphs (transformers.js picks files by dtype suffix; fp32 has none). LoRA adapters are
// always merged: transformers.js has no adapter loading.
// Limits: a graph with more than 1.5 GB of weights gets its weights in `<file>.onnx.data` (our
// tensor package's naming): onnxruntime-node finds that file by itself, but transformers.js in a
// browser only fetches external data named `<file>.onnx_data` (config `use_external_data_format`).
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { saveModel } from '@mmit/tensor';
import { writeModelCard } from './model-card.js';
import { buildEmbedTokensGraph, buildMergedDecoderGraph, buildVisionEncoderGraph } from './onnx-graphs.js';
import { type ProgressFn, writeExportFolder } from './out-dir.js';
import { openExportParts } from './parts.js';
import type { ExportRun } from './run-source.js';
import { writeModelConfigs, writeTokenizerFiles } from './side-files.js';

/** The session files transformers.js opens, relative to the folder. */
export const TJS_FILES = {
  embedTokens: 'onnx/embed_tokens.onnx',
  visionEncoder: 'onnx/vision_encoder.onnx',
  decoder: 'onnx/decoder_model_merged.onnx',
} as const;

export interface TransformersJsExportOptions {
  force?: boolean;
  onProgress?: ProgressFn;
}

export interface TransformersJsExportResult {
  dir: string;
  files: string[];
  /** Graphs whose weights went to an external `.onnx.data` file (see the limits above). */
  externalData: string[];
}

export function exportTransformersJs(
  run: ExportRun,
  outDir: string,
  options: TransformersJsExportOptions = {},
): TransformersJsExportResult {
  return writeExportFolder(outDir, options.force, (staging) =>
    writeTransformersJs(run, outDir, staging, options),
  );
}

function writeTransformersJs(
  run: ExportRun,
  outDir: string,
  staging: string,
  options: TransformersJsExportOptions,
): TransformersJsExportResult {
  const progress = options.onProgress ?? (() => {});
  mkdirSync(join(staging, 'onnx'), { recursive: true });
  const parts = openExportParts(run, { mergeLora: true });
  try {
    const files: string[] = [];
    const externalData: string[] = [];
    const graphs = [
      [TJS_FILES.embedTokens, () => buildEmbedTokensGraph(parts.lm)],
      [
        TJS_FILES.visionEncoder,
        () =>
          buildVisionEncoderGraph(
            parts.tower,
            { layer: run.encoder.spec.visionFeatureLayer, select: run.encoder.spec.select },
            run.projector,
          ),
      ],
      [TJS_FILES.decoder, () => buildMergedDecoderGraph(parts.lm)],
    ] as const;
    // One graph at a time: its initializers are freed before the next is built.
    for (const [file, build] of graphs) {
      progress(`building ${file}`);
      const written = saveModel(build(), join(staging, file));
      files.push(...written.map((path) => relative(staging, path)));
      if (written.length > 1) externalData.push(file);
    }
    files.push(
      ...writeModelConfigs(run, parts, staging, 'transformers.js'),
      ...writeTokenizerFiles(run.tokenizerDir, staging, { inlineChatTemplate: true }),
      writeModelCard(run, parts, staging, { format: 'transformers.js', loraMerged: run.lora !== null }),
    );
    return { dir: outDir, files, externalData };
  } finally {
    parts.close();
  }
}
