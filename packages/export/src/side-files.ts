// The files beside the weights: tokenizer (copied as they are, plus `chat_template.jinja`, where
// transformers 5 keeps the template), the image processor's `preprocessor_config.json`, LLaVA's
// `processor_config.json`, and `generation_config.json`. Folders differ in one place:
// transformers.js 4.3 reads the chat template only from tokenizer_config.json, so that folder gets
// it inlined there too; and its LlavaProcessor counts image tokens as patches +
// num_additional_image_tokens without subtracting the CLS that 'default' drops, unlike Python's.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExportError } from './errors.js';
import { llavaConfig } from './llava-config.js';
import type { ExportParts } from './parts.js';
import type { ExportRun } from './run-source.js';

/** Tokenizer files a Hugging Face folder may hold; each present one is copied. */
const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
];

/**
 * Key names whose values a JSON text writes as floats (`1.0`, `1e-05`, `[0.5, 1.0]`). JavaScript
 * reads 1.0 and 1 as one number, but transformers 5 validates typed config fields strictly and
 * refuses `"initializer_factor": 1` where it declares a float; the writer below uses these names
 * to write such values back as Python's json does.
 */
export function floatKeys(jsonText: string): Set<string> {
  const keys = new Set<string>();
  const pair = /"((?:[^"\\]|\\.)*)"\s*:\s*(\[[^[\]{}"]*\]|-?\d[\d.eE+-]*)/g;
  for (const [, key, value] of jsonText.matchAll(pair)) {
    if (/\d[.eE]|\.\d/.test(value)) keys.add(key);
  }
  return keys;
}

/** Float key names of the JSON files that exist among `paths`. */
export function floatKeysOf(paths: string[]): Set<string> {
  const keys = new Set<string>();
  for (const path of paths) {
    if (existsSync(path)) for (const key of floatKeys(readFileSync(path, 'utf8'))) keys.add(key);
  }
  return keys;
}

const FLOAT_MARK = '\u0000float:';

/** Writes `value` as indented JSON; integral numbers under `floats` key names keep a `.0`. */
export function writeJson(path: string, value: unknown, floats: ReadonlySet<string> = new Set()): void {
  const mark = (v: unknown): unknown =>
    typeof v === 'number' && Number.isInteger(v) && !/e/i.test(String(v)) ? `${FLOAT_MARK}${v}` : v;
  const text = JSON.stringify(
    value,
    (key, v) => (floats.has(key) ? (Array.isArray(v) ? v.map(mark) : mark(v)) : v),
    2,
  );
  writeFileSync(path, `${text.replace(/"\\u0000float:(-?\d+)"/g, '$1.0')}\n`);
}

function readJsonIfExists(path: string): Record<string, unknown> | null {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : null;
}

/** The chat template: `chat_template.jinja` first (transformers 5), else tokenizer_config's key. */
export function chatTemplateOf(tokenizerDir: string): string | null {
  const jinja = join(tokenizerDir, 'chat_template.jinja');
  if (existsSync(jinja)) return readFileSync(jinja, 'utf8');
  const template = readJsonIfExists(join(tokenizerDir, 'tokenizer_config.json'))?.chat_template;
  return typeof template === 'string' ? template : null;
}

export interface TokenizerFileOptions {
  /** Also put the chat template into tokenizer_config.json (transformers.js 4.3 reads it only there). */
  inlineChatTemplate?: boolean;
}

/** Copies the tokenizer; returns the file names written. */
export function writeTokenizerFiles(
  tokenizerDir: string,
  outDir: string,
  options: TokenizerFileOptions = {},
): string[] {
  const written: string[] = [];
  for (const file of TOKENIZER_FILES) {
    if (!existsSync(join(tokenizerDir, file))) continue;
    copyFileSync(join(tokenizerDir, file), join(outDir, file));
    written.push(file);
  }
  if (!written.includes('tokenizer.json')) {
    throw new ExportError(
      'validation',
      `${tokenizerDir} has no tokenizer.json (only fast tokenizers are exported)`,
    );
  }
  const template = chatTemplateOf(tokenizerDir);
  if (template !== null) {
    writeFileSync(join(outDir, 'chat_template.jinja'), template);
    written.push('chat_template.jinja');
    if (options.inlineChatTemplate) {
      const configPath = join(outDir, 'tokenizer_config.json');
      writeJson(
        configPath,
        { ...(readJsonIfExists(configPath) ?? {}), chat_template: template },
        floatKeysOf([configPath]),
      );
    }
  }
  return written;
}

/**
 * The encoder's preprocessor_config.json, with `processor_class` set: without it transformers.js's
 * AutoProcessor returns a bare Processor instead of the LlavaProcessor that expands `<image>`.
 */
export function writePreprocessorConfig(run: ExportRun, outDir: string): string {
  const source = join(run.encoder.processorDir, 'preprocessor_config.json');
  if (!existsSync(source)) {
    throw new ExportError(
      'validation',
      `${run.encoder.processorDir} has no preprocessor_config.json; set encoder.processor in the run spec to the folder that has it`,
    );
  }
  writeJson(
    join(outDir, 'preprocessor_config.json'),
    { ...readJsonIfExists(source), processor_class: 'LlavaProcessor' },
    floatKeysOf([source]),
  );
  return 'preprocessor_config.json';
}

export type ProcessorFlavour = 'transformers' | 'transformers.js';

/** LLaVA's processor_config.json, so the processor expands one `<image>` into image_seq_length tokens. */
export function processorConfig(parts: ExportParts, flavour: ProcessorFlavour): Record<string, unknown> {
  const patches = parts.tower.numPatches;
  const cls = parts.tower.kind === 'clip' ? 1 : 0;
  return {
    processor_class: 'LlavaProcessor',
    image_token: parts.imageToken,
    patch_size: parts.tower.config.patchSize,
    vision_feature_select_strategy: parts.selectStrategy,
    // Python subtracts the dropped CLS itself for 'default'; transformers.js does not.
    num_additional_image_tokens: flavour === 'transformers' ? cls : parts.imageSeqLength - patches,
  };
}

/** The LM's generation_config.json, or one made from its config's eos/pad ids. */
export function generationConfig(run: ExportRun, parts: ExportParts): Record<string, unknown> {
  const own = readJsonIfExists(join(run.lmDir, 'generation_config.json'));
  if (own) return own;
  const { eosTokenIds, padTokenId } = parts.lm.config;
  return {
    ...(eosTokenIds.length ? { eos_token_id: eosTokenIds.length === 1 ? eosTokenIds[0] : eosTokenIds } : {}),
    ...(padTokenId !== null ? { pad_token_id: padTokenId } : {}),
  };
}

/**
 * config.json, generation_config.json, processor_config.json and preprocessor_config.json: what
 * both folders carry beside weights and tokenizer. Keys the sources write as floats stay floats
 * (transformers 5 checks config field types).
 */
export function writeModelConfigs(
  run: ExportRun,
  parts: ExportParts,
  dir: string,
  flavour: ProcessorFlavour,
): string[] {
  const sourceConfigs = [join(run.lmDir, 'config.json'), join(parts.tower.dir, 'config.json')];
  writeJson(join(dir, 'config.json'), llavaConfig(run, parts), floatKeysOf(sourceConfigs));
  writeJson(
    join(dir, 'generation_config.json'),
    generationConfig(run, parts),
    floatKeysOf([join(run.lmDir, 'generation_config.json')]),
  );
  writeJson(join(dir, 'processor_config.json'), processorConfig(parts, flavour));
  return [
    'config.json',
    'generation_config.json',
    'processor_config.json',
    writePreprocessorConfig(run, dir),
  ];
}
