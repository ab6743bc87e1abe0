// The FLOP count of one LLaVA projector training step (frozen LM), shared by the cpu bench
// (llava-step.ts) and the GPU one (bench/gpu/llava-step-gpu.ts) so both report the same work.
import type { LmConfig } from '../../packages/models/src/lm-config.js';

/**
 * Multiply-add FLOPs of one step (2 per MAC): the LM forward and its activation gradients (no
 * weight gradients: the LM is frozen), attention, the head on `headRows` rows, and the projector.
 */
export function stepFlops(
  c: LmConfig,
  batch: number,
  length: number,
  headRows: number,
  images: number,
  dv: number,
): number {
  const rows = batch * length;
  const d = c.hiddenSize;
  const qkvo = d * (c.numHeads + 2 * c.numKvHeads) * c.headDim + c.numHeads * c.headDim * d;
  const mlp = 3 * d * c.intermediateSize;
  const perLayerLinear = 2 * rows * (qkvo + mlp);
  const perLayerAttention = 2 * 2 * batch * c.numHeads * length * length * c.headDim;
  const forward = c.numLayers * (perLayerLinear + perLayerAttention) + 2 * headRows * d * c.vocabSize;
  // Backward: one GEMM per linear (dX = dY W), two per attention product, one for the head.
  const backward = c.numLayers * (perLayerLinear + 2 * perLayerAttention) + 2 * headRows * d * c.vocabSize;
  const projector = 2 * images * (dv * d + d * d);
  return forward + backward + 3 * projector;
}
