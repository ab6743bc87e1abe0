// Rotary position embedding frequencies, computed on the host exactly as transformers does
// (`_compute_default_rope_parameters`, `_compute_linear_scaling_rope_parameters`,
// `_compute_llama3_parameters` in modeling_rope_utils.py). HF computes these in float32 even when
// the model runs in float64, so each step is rounded with Math.fround to reproduce its values.
// The graph multiplies them by positions and takes cos/sin (also in float32, as HF does).
import type { LmConfig } from './lm-config.js';

/** inv_freq[i] = 1 / theta^(2i / headDim), i < headDim/2, with the config's rope scaling applied. */
export function ropeInverseFrequencies(
  config: Pick<LmConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>,
): Float32Array {
  const half = config.headDim / 2;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const exponent = Math.fround((2 * i) / config.headDim);
    invFreq[i] = Math.fround(1 / Math.fround(config.ropeTheta ** exponent));
  }
  const scaling = config.ropeScaling;
  if (scaling.type === 'linear') {
    for (let i = 0; i < half; i++) invFreq[i] = Math.fround(invFreq[i] / scaling.factor);
  } else if (scaling.type === 'llama3') {
    const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: oldContext } = scaling;
    const lowFreqWavelen = oldContext / lowFreqFactor;
    const highFreqWavelen = oldContext / highFreqFactor;
    for (let i = 0; i < half; i++) {
      const freq = invFreq[i];
      const wavelen = (2 * Math.PI) / freq;
      // Long wavelengths (low frequencies) are slowed by `factor`, short ones kept, the band between interpolated.
      let scaled = wavelen > lowFreqWavelen ? freq / factor : freq;
      const isMedium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
      if (isMedium) {
        const smooth = (oldContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        scaled = ((1 - smooth) * scaled) / factor + smooth * scaled;
      }
      invFreq[i] = Math.fround(scaled);
    }
  }
  return invFreq;
}
