// The one table from Hugging Face weight names to ours, for decoder LMs and LLaVA projectors.
// Ours are short and prefix-free (`layers.3.attn.q.weight`, `embed.weight`, `head.weight`,
// `projector.linear_1.weight`), so the graph builders never see checkpoint layout details.
// HF prefixes differ by class: LlamaForCausalLM keeps the body under `model.`, transformers 4
// LLaVA under `language_model.model.`, transformers 5 LLaVA under `model.language_model.`; the
// prefix list below strips all of them before the table is applied.

/** [HF name after prefix stripping, our name]; `{i}` stands for the layer index. */
const table: ReadonlyArray<readonly [string, string]> = [
  ['embed_tokens.weight', 'embed.weight'],
  ['norm.weight', 'norm.weight'],
  ['lm_head.weight', 'head.weight'],
  ['layers.{i}.input_layernorm.weight', 'layers.{i}.attn_norm.weight'],
  ['layers.{i}.post_attention_layernorm.weight', 'layers.{i}.mlp_norm.weight'],
  ['layers.{i}.self_attn.q_proj.weight', 'layers.{i}.attn.q.weight'],
  ['layers.{i}.self_attn.q_proj.bias', 'layers.{i}.attn.q.bias'],
  ['layers.{i}.self_attn.k_proj.weight', 'layers.{i}.attn.k.weight'],
  ['layers.{i}.self_attn.k_proj.bias', 'layers.{i}.attn.k.bias'],
  ['layers.{i}.self_attn.v_proj.weight', 'layers.{i}.attn.v.weight'],
  ['layers.{i}.self_attn.v_proj.bias', 'layers.{i}.attn.v.bias'],
  ['layers.{i}.self_attn.o_proj.weight', 'layers.{i}.attn.o.weight'],
  ['layers.{i}.self_attn.o_proj.bias', 'layers.{i}.attn.o.bias'],
  ['layers.{i}.mlp.gate_proj.weight', 'layers.{i}.mlp.gate.weight'],
  ['layers.{i}.mlp.gate_proj.bias', 'layers.{i}.mlp.gate.bias'],
  ['layers.{i}.mlp.up_proj.weight', 'layers.{i}.mlp.up.weight'],
  ['layers.{i}.mlp.up_proj.bias', 'layers.{i}.mlp.up.bias'],
  ['layers.{i}.mlp.down_proj.weight', 'layers.{i}.mlp.down.weight'],
  ['layers.{i}.mlp.down_proj.bias', 'layers.{i}.mlp.down.bias'],
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

const compiled = table.map(([hf, ours]) => ({ regex: compile(hf), ours }));

/** Our name for an HF weight name, or null when the table does not cover it (e.g. vision tower weights). */
export function ourWeightName(hfName: string): string | null {
  for (const prefix of prefixes) {
    if (!hfName.startsWith(prefix)) continue;
    const rest = hfName.slice(prefix.length);
    for (const { regex, ours } of compiled) {
      const match = regex.exec(rest);
      if (match) return match[1] === undefined ? ours : ours.replace('{i}', match[1]);
    }
  }
  return null;
}

/** Maps every covered name of a checkpoint to ours; the first HF name wins if two map to one of ours. */
export function weightNameMap(hfNames: Iterable<string>): Map<string, string> {
  const map = new Map<string, string>();
  for (const hf of hfNames) {
    const ours = ourWeightName(hf);
    if (ours !== null && !map.has(ours)) map.set(ours, hf);
  }
  return map;
}
