// @mmit/tensor: safetensors I/O, the ONNX graph builder, autodiff and the onnxruntime runner.
// See ../README.md for the API tour.

export * from './autodiff/grad.js';
export * from './autodiff/gradcheck.js';
export { sumToShape, VJP, type VjpContext, type VjpEntry, VjpError, type VjpRule } from './autodiff/vjp.js';
export * from './dtype.js';
export * from './graph/dims.js';
export * from './graph/graph.js';
export * from './onnx/encode.js';
export * from './onnx/types.js';
export * from './ops/composites.js';
export * from './ops/elementwise.js';
export * from './ops/indexing.js';
export * from './ops/nn.js';
export * from './ops/reduce.js';
export * from './ops/shape.js';
export { type Operand, shapeTensor } from './ops/support.js';
export * from './runtime/float16.js';
export * from './runtime/session.js';
export * from './safetensors.js';
