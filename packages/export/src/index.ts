// @mmit/export: a training run as a Hugging Face LlavaForConditionalGeneration folder
// (exportHfLlava) and as the ONNX folder transformers.js loads (exportTransformersJs), read from
// the bucket (loadExportRun); runExport is what `mmit export <run>` does.
export * from './command.js';
export * from './errors.js';
export * from './export-process.js';
export * from './hf-llava.js';
export * from './llava-config.js';
export * from './llava-names.js';
export * from './onnx-graphs.js';
export * from './out-dir.js';
export * from './parts.js';
export * from './peft-adapter.js';
export * from './run-source.js';
export * from './sharded-writer.js';
export * from './side-files.js';
export * from './transformers-js.js';
