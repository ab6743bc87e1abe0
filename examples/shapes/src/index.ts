// @mmit/example-shapes: the proof that the pipeline learns, as an example built on the product's
// packages (not one of them). A synthetic image+audio task with exact answers (generate.ts), a
// tiny LM pretrained on its text with the engine and then frozen (tiny-lm.ts, lm-pretrain.ts),
// random frozen CLIP/Whisper-shaped encoders (encoders.ts), the projector stage with the engine
// alone (an in-memory run of @mmit/train's Trainer: projector-stage.ts, projector-training.ts,
// engine-proof.ts) and the scoring (evaluate.ts, report.ts). `mmit bench shapes` runs it through
// the services (packages/cli/src/shapes/) or engine-only.
export * from './encoders.js';
export * from './engine-proof.js';
export * from './evaluate.js';
export * from './features.js';
export * from './generate.js';
export * from './lm-corpus.js';
export * from './lm-pretrain.js';
export * from './projector-stage.js';
export * from './projector-training.js';
export * from './questions.js';
export * from './report.js';
export * from './task.js';
export * from './task-models.js';
export * from './tiny-lm.js';
export * from './word-tokenizer.js';
export * from './write-folder.js';
