// Sample-rate conversion by a Kaiser-windowed sinc in polyphase form, and downmixing.
// For rates in/out with L/M = out/in in lowest terms, output sample n sits at input time n*M/L; its integer
// part picks the input window and (n*M mod L) picks one of L precomputed coefficient rows ("phases"), so
// each output costs one dot product of `taps` samples and no trigonometry.
// The low-pass is placed at the LOWER of the two Nyquist frequencies (input's when upsampling, output's when
// downsampling): the stopband starts exactly there, the passband ends at `passband` x that frequency.
// Kaiser design (A = stopband attenuation in dB): beta = 0.1102 (A - 8.7), length = (A - 8) / (2.285 dw).
// With the defaults (A = 90 dB, passband 0.9) a 44.1 kHz -> 16 kHz filter has 316 taps per phase.
// Memory: L rows of `taps` floats; for common rates (8/11.025/16/22.05/24/32/44.1/48/96 kHz -> 16 kHz) that is
// under 1 MB; odd rates with no common factor (e.g. 44,101 Hz) can reach tens of MB, so filters are cached
// per rate pair, a few at a time.

export interface ResamplerDesign {
  /** Stopband attenuation in dB. Default 90. */
  attenuationDb?: number;
  /** End of the passband as a fraction of the lower Nyquist frequency (0.5..0.99). Default 0.9. */
  passband?: number;
}

interface PolyphaseFilter {
  up: number; // L
  down: number; // M
  /** Input samples before (and including) the output position that each phase reads: taps = 2 * half. */
  half: number;
  /** (L, taps) row-major; row p holds the weights of input samples ipart - half + 1 ... ipart + half. */
  rows: Float32Array;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (series; converges fast for the betas used). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 64; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

function designFilter(inRate: number, outRate: number, design: ResamplerDesign): PolyphaseFilter {
  const attenuation = design.attenuationDb ?? 90;
  const passband = design.passband ?? 0.9;
  if (!(passband >= 0.5 && passband <= 0.99)) throw new RangeError(`passband ${passband} outside 0.5..0.99`);
  const divisor = gcd(inRate, outRate);
  const up = outRate / divisor;
  const down = inRate / divisor;
  // Frequencies in cycles per INPUT sample.
  const stopEdge = Math.min(inRate, outRate) / 2 / inRate;
  const passEdge = passband * stopEdge;
  const cutoff = (passEdge + stopEdge) / 2;
  const transition = 2 * Math.PI * (stopEdge - passEdge);
  const length = Math.ceil((attenuation - 8) / (2.285 * transition)) + 1;
  const half = Math.ceil(length / 2);
  const beta =
    attenuation > 50
      ? 0.1102 * (attenuation - 8.7)
      : 0.5842 * (attenuation - 21) ** 0.4 + 0.07886 * (attenuation - 21);
  const i0Beta = besselI0(beta);
  const taps = 2 * half;
  const rows = new Float32Array(up * taps);
  for (let p = 0; p < up; p++) {
    const frac = p / up; // output position is ipart + frac
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const t = k - half + 1 - frac; // distance of input sample (ipart - half + 1 + k) from the output position
      const r = t / half;
      const window = Math.abs(r) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - r * r)) / i0Beta;
      const h = 2 * cutoff * sinc(2 * cutoff * t) * window;
      rows[p * taps + k] = h;
      sum += h;
    }
    // Unit gain at DC for every phase, so a constant signal stays exactly constant.
    for (let k = 0; k < taps; k++) rows[p * taps + k] /= sum;
  }
  return { up, down, half, rows };
}

const CACHE_SIZE = 4;
const cache = new Map<string, PolyphaseFilter>();

function filterFor(inRate: number, outRate: number, design: ResamplerDesign): PolyphaseFilter {
  const key = `${inRate}:${outRate}:${design.attenuationDb ?? ''}:${design.passband ?? ''}`;
  let filter = cache.get(key);
  if (filter) {
    cache.delete(key); // re-insert as most recently used
  } else {
    filter = designFilter(inRate, outRate, design);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  }
  cache.set(key, filter);
  return filter;
}

/** Resamples one channel; the output has ceil(length * outRate / inRate) samples, time-aligned with the input. */
export function resample(
  input: Float32Array,
  inRate: number,
  outRate: number,
  design: ResamplerDesign = {},
): Float32Array {
  if (!Number.isInteger(inRate) || !Number.isInteger(outRate) || inRate <= 0 || outRate <= 0) {
    throw new RangeError(`sample rates must be positive integers, got ${inRate} -> ${outRate}`);
  }
  if (inRate === outRate) return input.slice();
  const { up, down, half, rows } = filterFor(inRate, outRate, design);
  const taps = 2 * half;
  const outLength = Math.ceil((input.length * up) / down);
  const output = new Float32Array(outLength);
  const last = input.length - 1;
  for (let n = 0; n < outLength; n++) {
    const position = n * down; // exact integer arithmetic: n*M < 2^53 for any realistic clip
    const ipart = Math.floor(position / up);
    const phase = position - ipart * up;
    const row = phase * taps;
    const first = ipart - half + 1;
    let acc = 0;
    if (first >= 0 && first + taps - 1 <= last) {
      for (let k = 0; k < taps; k++) acc += rows[row + k] * input[first + k];
    } else {
      // Near the ends: samples outside the signal count as silence.
      for (let k = 0; k < taps; k++) {
        const i = first + k;
        if (i >= 0 && i <= last) acc += rows[row + k] * input[i];
      }
    }
    output[n] = acc;
  }
  return output;
}

/** Averages channels into one (equal weights, so a mono file duplicated to stereo comes back unchanged). */
export function downmix(channelData: readonly Float32Array[]): Float32Array {
  if (channelData.length === 0) throw new RangeError('downmix needs at least one channel');
  if (channelData.length === 1) return channelData[0].slice();
  const length = channelData[0].length;
  const mono = new Float32Array(length);
  for (const channel of channelData) for (let i = 0; i < length; i++) mono[i] += channel[i];
  const scale = 1 / channelData.length;
  for (let i = 0; i < length; i++) mono[i] *= scale;
  return mono;
}
