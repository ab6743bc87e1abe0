// Element types and the host tensor: the one in-memory tensor shape used across the project
// (safetensors, graph constants, session feeds and results). Data is always a typed array in the
// platform's (little-endian) byte order; float16 and bfloat16 are held as their raw 16-bit patterns
// in a Uint16Array because Node 20 has no Float16Array.

export type DType =
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'float64'
  | 'int64'
  | 'int32'
  | 'int8'
  | 'uint8'
  | 'bool';

export const DTYPES: readonly DType[] = [
  'float32',
  'float16',
  'bfloat16',
  'float64',
  'int64',
  'int32',
  'int8',
  'uint8',
  'bool',
];

export type TypedArray =
  | Float32Array
  | Float64Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int8Array
  | Uint8Array;

/** Maps each dtype to the typed array that holds it. */
export interface DataOf {
  float32: Float32Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  float64: Float64Array;
  int64: BigInt64Array;
  int32: Int32Array;
  int8: Int8Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

export interface HostTensor<D extends DType = DType> {
  dtype: D;
  dims: number[];
  data: DataOf[D];
}

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int8: 1,
  uint8: 1,
  bool: 1,
};

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16' || dtype === 'float64';
}

export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export class DTypeError extends Error {
  override name = 'DTypeError';
}

export function allocate<D extends DType>(dtype: D, length: number): DataOf[D] {
  switch (dtype) {
    case 'float32':
      return new Float32Array(length) as DataOf[D];
    case 'float64':
      return new Float64Array(length) as DataOf[D];
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(length) as DataOf[D];
    case 'int64':
      return new BigInt64Array(length) as DataOf[D];
    case 'int32':
      return new Int32Array(length) as DataOf[D];
    case 'int8':
      return new Int8Array(length) as DataOf[D];
    case 'uint8':
    case 'bool':
      return new Uint8Array(length) as DataOf[D];
    default:
      throw new DTypeError(`unknown dtype '${String(dtype)}'; valid: ${DTYPES.join(', ')}`);
  }
}

/** Views raw little-endian bytes as a typed array of `dtype`, copying only when the offset is misaligned. */
export function viewBytes<D extends DType>(dtype: D, bytes: Uint8Array): DataOf[D] {
  const size = BYTES_PER_ELEMENT[dtype];
  if (bytes.byteLength % size !== 0) {
    throw new DTypeError(`${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  }
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const length = aligned.byteLength / size;
  const { buffer, byteOffset } = aligned;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, length) as DataOf[D];
    case 'float64':
      return new Float64Array(buffer, byteOffset, length) as DataOf[D];
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buffer, byteOffset, length) as DataOf[D];
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, length) as DataOf[D];
    case 'int32':
      return new Int32Array(buffer, byteOffset, length) as DataOf[D];
    case 'int8':
      return new Int8Array(buffer, byteOffset, length) as DataOf[D];
    default:
      return new Uint8Array(buffer, byteOffset, length) as DataOf[D];
  }
}

export function bytesOf(data: TypedArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Builds a host tensor from numbers (or bigints for int64), checking the element count.
 * Example: `hostTensor('float32', [2, 2], [1, 2, 3, 4])`.
 */
export function hostTensor<D extends DType>(
  dtype: D,
  dims: number[],
  values?: ArrayLike<number> | ArrayLike<bigint> | DataOf[D],
): HostTensor<D> {
  const n = numel(dims);
  if (values && values.length !== n) {
    throw new DTypeError(`tensor of dims [${dims.join(', ')}] needs ${n} values, got ${values.length}`);
  }
  const data = allocate(dtype, n);
  if (values) {
    if (dtype === 'int64') {
      const out = data as BigInt64Array;
      for (let i = 0; i < n; i++) {
        const v = values[i] as number | bigint;
        out[i] = typeof v === 'bigint' ? v : BigInt(Math.trunc(v)); // truncates, as C casts do
      }
    } else if (dtype === 'float16') {
      const out = data as Uint16Array;
      for (let i = 0; i < n; i++) out[i] = float32ToFloat16Bits(Number(values[i]));
    } else if (dtype === 'bfloat16') {
      const out = data as Uint16Array;
      for (let i = 0; i < n; i++) out[i] = float32ToBfloat16Bits(Number(values[i]));
    } else {
      const out = data as Float32Array;
      for (let i = 0; i < n; i++) out[i] = Number(values[i]);
    }
  }
  return { dtype, dims: [...dims], data };
}

export function scalarTensor<D extends DType>(dtype: D, value: number): HostTensor<D> {
  return hostTensor(dtype, [], [value]);
}

/** Reads any tensor's elements as JS numbers (float16/bfloat16 decoded, int64 converted). */
export function toNumbers(t: HostTensor): Float64Array {
  const out = new Float64Array(t.data.length);
  if (t.dtype === 'float16') {
    const src = t.data as Uint16Array;
    for (let i = 0; i < src.length; i++) out[i] = float16BitsToFloat32(src[i]);
  } else if (t.dtype === 'bfloat16') {
    const src = t.data as Uint16Array;
    for (let i = 0; i < src.length; i++) out[i] = bfloat16BitsToFloat32(src[i]);
  } else if (t.dtype === 'int64') {
    const src = t.data as BigInt64Array;
    for (let i = 0; i < src.length; i++) out[i] = Number(src[i]);
  } else {
    out.set(t.data as Float32Array);
  }
  return out;
}

/** Converts a tensor's values to another dtype (floats round to nearest even for 16-bit targets). */
export function castTensor<D extends DType>(t: HostTensor, dtype: D): HostTensor<D> {
  if (t.dtype === dtype) return t as HostTensor<D>;
  if (t.dtype === 'float16' && dtype === 'float32') {
    return { dtype, dims: [...t.dims], data: float16ToFloat32(t.data as Uint16Array) as DataOf[D] };
  }
  if (t.dtype === 'float32' && dtype === 'float16') {
    return { dtype, dims: [...t.dims], data: float32ToFloat16(t.data as Float32Array) as DataOf[D] };
  }
  if (t.dtype === 'bfloat16' && dtype === 'float32') {
    return { dtype, dims: [...t.dims], data: bfloat16ToFloat32(t.data as Uint16Array) as DataOf[D] };
  }
  if (t.dtype === 'int64' || dtype === 'int64') {
    return hostTensor(dtype, t.dims, t.dtype === 'int64' ? (t.data as BigInt64Array) : toNumbers(t));
  }
  return hostTensor(dtype, t.dims, toNumbers(t));
}

// ---- float16 / bfloat16 bit conversions -------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Rounds to nearest, ties to even, as IEEE conversion does; overflow becomes infinity. */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
  return sign | h;
}

export function bfloat16BitsToFloat32(b: number): number {
  u32[0] = b << 16;
  return f32[0];
}

export function float32ToBfloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function float16ToFloat32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = float16BitsToFloat32(src[i]);
  return out;
}

export function float32ToFloat16(src: Float32Array | Float64Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = float32ToFloat16Bits(src[i]);
  return out;
}

export function bfloat16ToFloat32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  return out;
}
