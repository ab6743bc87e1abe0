// ONNX's TensorProto.DataType codes for our dtypes (onnx.proto, enum DataType).

import type { DType } from '../dtype.js';

const ONNX_TYPE_CODE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16,
};

export function onnxTypeCode(dtype: DType): number {
  return ONNX_TYPE_CODE[dtype];
}

export function dtypeOfOnnxCode(code: number): DType {
  const entry = Object.entries(ONNX_TYPE_CODE).find(([, c]) => c === code);
  if (!entry) {
    throw new Error(
      `ONNX type code ${code} has no dtype here; known: ${Object.values(ONNX_TYPE_CODE).join(', ')}`,
    );
  }
  return entry[0] as DType;
}
