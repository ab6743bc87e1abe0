// @mmit/models: Hugging Face checkpoints to graphs. The LM side (config, loader, Llama/Qwen2
// decoder graphs with KV cache, projectors, the LLaVA training step, tokenizers, verify) and the
// encoder side (CLIP/SigLIP/Whisper, preprocessing) are exported from here.

export { act, UnknownActivationError } from './activations.js';
export * from './adamw.js';
export * from './architectures/index.js';
export * from './checkpoint.js';
export * from './clip.js';
export * from './decoder.js';
export * from './encoder-session.js';
export * from './encoders.js';
export * from './feeds.js';
export * from './hub.js';
export * from './image-processor.js';
export * from './language-model.js';
export * from './llava-step.js';
export * from './lm-config.js';
export * from './lm-graphs.js';
export * from './log-mel.js';
export * from './lora.js';
export * from './lora-merge.js';
export * from './projector.js';
export * from './rope.js';
export * from './siglip.js';
export * from './tokenizer.js';
export * from './verify.js';
export * from './verify-encoders.js';
export * from './verify-lm.js';
export * from './verify-measures.js';
export * from './vision-tower.js';
export * from './weight-names.js';
export * from './whisper.js';
