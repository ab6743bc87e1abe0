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
import { llavaConfig } from './llava-config.js';
import { buildEmbedTokensGraph, buildMergedDecoderGraph, buildVisionEncoderGraph } from './onnx-graphs.js';
import { type ProgressFn, prepareOutDir } from './out-dir.js';
import { openExportParts } from './parts.js';
import type { ExportRun } from './run-source.js';
import {
  floatKeysOf,
  generationConfig,
  processorConfig,
  writeJson,
  writePreprocessorConfig,
  writeTokenizerFiles,
} from './side-files.js';

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
  const progress = options.onProgress ?? (() => {});
  prepareOutDir(outDir, options.force);
  mkdirSync(join(outDir, 'onnx'), { recursive: true });
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
      const written = saveModel(build(), join(outDir, file));
      files.push(...written.map((path) => relative(outDir, path)));
      if (written.length > 1) externalData.push(file);
    }
    // Keys the sources write as floats stay floats (transformers 5 checks config field types).
    const sourceConfigs = [join(run.lmDir, 'config.json'), join(parts.tower.dir, 'config.json')];
    writeJson(join(outDir, 'config.json'), llavaConfig(run, parts), floatKeysOf(sourceConfigs));
    writeJson(
      join(outDir, 'generation_config.json'),
      generationConfig(run, parts),
      floatKeysOf([join(run.lmDir, 'generation_config.json')]),
    );
    writeJson(join(outDir, 'processor_config.json'), processorConfig(parts, 'transformers.js'));
    files.push(
      'config.json',
      'generation_config.json',
      'processor_config.json',
      writePreprocessorConfig(run, outDir),
      ...writeTokenizerFiles(run.tokenizerDir, outDir, { inlineChatTemplate: true }),
    );
    return { dir: outDir, files, externalData };
  } finally {
    parts.close();
  }
}
