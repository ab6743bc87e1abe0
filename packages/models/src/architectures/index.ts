// The architecture registry: model_type -> the one entry that describes a decoder family (see
// spec.ts). `parseLmConfig` is the only reader of a decoder's config.json, and every consumer
// (graphs, checkpoint weight names, LoRA, export, serve) asks this table, so a new family is a
// new entry plus the small pieces it alone needs.
import {
  checkSliding,
  commonLmConfig,
  type LmConfig,
  readRawLmConfig,
  UnsupportedConfigError,
} from '../lm-config.js';
import { gemma2, gemma3Text } from './gemma.js';
import { llama } from './llama.js';
import { phi3 } from './phi3.js';
import { qwen2, qwen3 } from './qwen.js';
import type { Architecture } from './spec.js';

export type { Architecture } from './spec.js';

export const architectures: Readonly<Record<string, Architecture>> = Object.fromEntries(
  [llama, qwen2, qwen3, gemma2, gemma3Text, phi3].map((a) => [a.modelType, a]),
);

export class UnknownArchitectureError extends Error {
  override name = 'UnknownArchitectureError';
}

/** The entry for `modelType`, or an UnknownArchitectureError listing the supported ones. */
export function architectureFor(modelType: string, where = 'config.json'): Architecture {
  const architecture = architectures[modelType];
  if (!architecture) {
    throw new UnknownArchitectureError(
      `${where}: model_type '${modelType}' is not a supported language model; supported: ${Object.keys(architectures).join(', ')}`,
    );
  }
  return architecture;
}

/** The decoder's own config: multimodal checkpoints nest it, as transformers reads `text_config`. */
export function lmConfigJson(config: Record<string, unknown>): Record<string, unknown> {
  const text = config.text_config;
  return config.model_type === 'llava' && text && typeof text === 'object'
    ? (text as Record<string, unknown>)
    : config;
}

/** Validates a parsed `config.json` of a decoder LM and applies its family's defaults. */
export function parseLmConfig(json: unknown): LmConfig {
  const raw = readRawLmConfig(json);
  const architecture = architectures[raw.model_type];
  if (!architecture) {
    throw new UnsupportedConfigError(
      `model_type '${raw.model_type}' has no decoder config rules; supported: ${Object.keys(architectures).join(', ')}`,
    );
  }
  const common = commonLmConfig(raw, architecture.defaults);
  return checkSliding({ ...common, ...architecture.family(raw, common) });
}
