// @mmit/features: the feature cache's storage side, shared by the feature service (writer) and
// the trainer (reader): encoder specs and content-addressed encoder keys, the shard format, the
// per-encoder index, publishing, and verified random access by media sha256.
export * from './block.js';
export * from './encoder-key.js';
export * from './feature-index.js';
export * from './layout.js';
export * from './reader.js';
export * from './safetensors-bytes.js';
export * from './shard.js';
