// Llama (Llama 2/3, SmolLM/SmolLM2, TinyLlama, Mistral-style configs under model_type llama):
// the plain pre-norm decoder every other entry is described against. `attention_bias` puts biases
// on q/k/v and o; `mlp_bias` on the MLP.
import { plainFamily } from '../lm-config.js';
import { type Architecture, llamaLinears, outerWeights, preNorms } from './spec.js';

export const llama: Architecture = {
  modelType: 'llama',
  hfClass: 'LlamaForCausalLM',
  defaults: {
    rmsNormEps: 1e-6,
    hiddenAct: 'silu',
    tieWordEmbeddings: false,
    ropeTheta: 10000,
    maxPositionEmbeddings: 2048,
  },
  family: plainFamily,
  weights: { table: [...outerWeights, ...preNorms, ...llamaLinears], fused: [] },
};
