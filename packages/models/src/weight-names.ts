// From Hugging Face weight names to ours, given a family's layout (architectures/ holds one per
// model_type). Ours are short and prefix-free (`layers.3.attn.q.weight`, `embed.weight`,
// `head.weight`, `projector.linear_1.weight`), so the graph builders never see checkpoint layout
// details. A layout is a name table plus fused tensors: one HF tensor whose rows are several of
// ours (Phi-3's `qkv_proj` is q, k and v stacked), split by row ranges the config decides.
// HF prefixes differ by class: *ForCausalLM keeps the body under `model.`, transformers 4 LLaVA
// under `language_model.model.`, transformers 5 LLaVA under `model.language_model.`; the prefix list
// below strips all of them before the table is applied.
import type { LmConfig } from './lm-config.js';

/** [HF name after prefix stripping, our name]; `{i}` stands for the layer index. */
export type WeightTable = ReadonlyArray<readonly [string, string]>;

/** One HF tensor holding several of ours, stacked by rows in the order of `ours`. */
export interface FusedWeight {
  hf: string;
  ours: readonly string[];
  /** Rows of each part, in `ours` order (they sum to the tensor's rows). */
  rows: (config: LmConfig) => number[];
}

export interface WeightLayout {
  table: WeightTable;
  fused: readonly FusedWeight[];
}

/** Where one of our weights lives: an HF tensor, or a row range of a fused one. */
export interface WeightSlice {
  hf: string;
  rows: readonly [start: number, end: number] | null;
}

/** The LLaVA projector, which every layout reads from LLaVA sources. */
export const projectorWeightTable: WeightTable = [
  ['multi_modal_projector.linear_1.weight', 'projector.linear_1.weight'],
  ['multi_modal_projector.linear_1.bias', 'projector.linear_1.bias'],
  ['multi_modal_projector.linear_2.weight', 'projector.linear_2.weight'],
  ['multi_modal_projector.linear_2.bias', 'projector.linear_2.bias'],
];

/** Checked longest first; `lm_head.` and `multi_modal_projector.` sit beside the body prefixes. */
const prefixes = ['model.language_model.', 'language_model.model.', 'language_model.', 'model.', ''];

function compile(pattern: string): RegExp {
  const escaped = pattern.replace(/\./g, '\\.').replace('{i}', '(\\d+)');
  return new RegExp(`^${escaped}$`);
}

interface CompiledLayout {
  table: { regex: RegExp; ours: string }[];
  fused: { regex: RegExp; weight: FusedWeight }[];
}

const compiledLayouts = new WeakMap<WeightLayout, CompiledLayout>();

function compiled(layout: WeightLayout): CompiledLayout {
  let c = compiledLayouts.get(layout);
  if (!c) {
    c = {
      table: [...layout.table, ...projectorWeightTable].map(([hf, ours]) => ({ regex: compile(hf), ours })),
      fused: layout.fused.map((weight) => ({ regex: compile(weight.hf), weight })),
    };
    compiledLayouts.set(layout, c);
  }
  return c;
}

const withLayer = (name: string, layer: string | undefined) =>
  layer === undefined ? name : name.replace('{i}', layer);

/**
 * Our names held by an HF tensor, in row order (several for a fused tensor), with the fused
 * entry that splits it; null when the layout does not cover the name (e.g. vision tower weights).
 */
export function oursOf(
  layout: WeightLayout,
  hfName: string,
): { ours: string[]; fused: FusedWeight | null } | null {
  const c = compiled(layout);
  for (const prefix of prefixes) {
    if (!hfName.startsWith(prefix)) continue;
    const rest = hfName.slice(prefix.length);
    for (const { regex, ours } of c.table) {
      const match = regex.exec(rest);
      if (match) return { ours: [withLayer(ours, match[1])], fused: null };
    }
    for (const { regex, weight } of c.fused) {
      const match = regex.exec(rest);
      if (match) return { ours: weight.ours.map((o) => withLayer(o, match[1])), fused: weight };
    }
  }
  return null;
}

/** Our single name for an HF tensor the layout maps one to one, else null. */
export function ourWeightName(layout: WeightLayout, hfName: string): string | null {
  const found = oursOf(layout, hfName);
  return found && found.fused === null ? found.ours[0] : null;
}

/**
 * Every covered weight of a checkpoint under our names. The first HF name wins if two map to one
 * of ours; fused parts need the config for their row ranges.
 */
export function weightSlices(
  layout: WeightLayout,
  config: LmConfig | null,
  hfNames: Iterable<string>,
): Map<string, WeightSlice> {
  const map = new Map<string, WeightSlice>();
  for (const hf of hfNames) {
    const found = oursOf(layout, hf);
    if (!found) continue;
    if (!found.fused) {
      if (!map.has(found.ours[0])) map.set(found.ours[0], { hf, rows: null });
      continue;
    }
    if (!config) throw new Error(`fused weight ${hf} needs the LM config to split`);
    let start = 0;
    found.fused.rows(config).forEach((rows, i) => {
      const ours = found.ours[i];
      if (!map.has(ours)) map.set(ours, { hf, rows: [start, start + rows] });
      start += rows;
    });
  }
  return map;
}
