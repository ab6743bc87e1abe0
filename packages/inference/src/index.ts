// @mmit/inference: generating text from a language model built by @mmit/models: the decoder loop
// with the KV cache (decoder.ts), the token picker with OpenAI's sampling knobs (sampler.ts) and
// batch greedy generation (generate.ts). Serve, the proof and the exporters' checks all use it.
export * from './decoder.js';
export * from './generate.js';
export * from './sampler.js';
export * from './verify-cases.js';
