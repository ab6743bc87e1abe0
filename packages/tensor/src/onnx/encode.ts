// Graph -> ONNX ModelProto bytes (field numbers from onnx/onnx.proto). Initializers go inline as
// raw_data, or, for models too large for protobuf's 2 GB limit, into a side file
// `<model>.onnx.data` that the .onnx file references by relative path (onnxruntime then loads the
// model by path). Only what the builder produces is encoded: no subgraphs, functions or sparse tensors.

import { closeSync, openSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { bytesOf, type HostTensor } from '../dtype.js';
import type { Attr, Graph, Node, Value } from '../graph/graph.js';
import { ProtoMessage } from './protobuf.js';
import { onnxTypeCode } from './types.js';

/** ONNX IR version 10 goes with opset 21 (onnx 1.16). */
const IR_VERSION = 10;
const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;
/** Above this total of initializer bytes, saveModel writes external data (protobuf stops at 2 GB). */
export const EXTERNAL_DATA_THRESHOLD = 1.5 * 1024 ** 3;
/** Tensors smaller than this stay inline even in external-data mode (shape constants, scalars). */
const INLINE_LIMIT = 1024;

interface ExternalData {
  location: string;
  chunks: Uint8Array[];
  length: number;
}

export function tensorProto(name: string, tensor: HostTensor, external?: ExternalData): ProtoMessage {
  const m = new ProtoMessage();
  for (const d of tensor.dims) m.varint(1, d);
  m.varint(2, onnxTypeCode(tensor.dtype));
  m.string(8, name);
  const bytes = bytesOf(tensor.data);
  if (external && bytes.byteLength >= INLINE_LIMIT) {
    // Align each tensor to 64 bytes so onnxruntime can use the mapped bytes directly.
    const pad = (64 - (external.length % 64)) % 64;
    if (pad) external.chunks.push(new Uint8Array(pad));
    const offset = external.length + pad;
    external.chunks.push(bytes);
    external.length = offset + bytes.byteLength;
    const entry = (key: string, value: string) => new ProtoMessage().string(1, key).string(2, value);
    m.message(13, entry('location', external.location));
    m.message(13, entry('offset', String(offset)));
    m.message(13, entry('length', String(bytes.byteLength)));
    m.varint(14, 1);
  } else {
    m.bytes(9, bytes);
  }
  return m;
}

function attributeProto(name: string, a: Attr): ProtoMessage {
  const m = new ProtoMessage().string(1, name).varint(20, ATTRIBUTE_TYPE[a.kind]);
  switch (a.kind) {
    case 'float':
      return m.float(2, a.value);
    case 'int':
      return m.varint(3, a.value);
    case 'string':
      return m.string(4, a.value);
    case 'tensor':
      return m.message(5, tensorProto('', a.value));
    case 'floats':
      for (const f of a.value) m.float(7, f);
      return m;
    case 'ints':
      for (const i of a.value) m.varint(8, i);
      return m;
  }
}

function nodeProto(node: Node): ProtoMessage {
  const m = new ProtoMessage();
  for (const input of node.inputs) m.string(1, input ? input.name : '');
  for (const output of node.outputs) m.string(2, output.name);
  m.string(3, node.name).string(4, node.op);
  for (const [name, a] of Object.entries(node.attrs)) m.message(5, attributeProto(name, a));
  if (node.domain) m.string(7, node.domain);
  return m;
}

function valueInfoProto(v: Value): ProtoMessage {
  const shape = new ProtoMessage();
  for (const d of v.shape) {
    shape.message(
      1,
      typeof d === 'number' ? new ProtoMessage().varint(1, d) : new ProtoMessage().string(2, d),
    );
  }
  const tensorType = new ProtoMessage().varint(1, onnxTypeCode(v.dtype)).message(2, shape);
  const type = new ProtoMessage().message(1, tensorType);
  return new ProtoMessage().string(1, v.name).message(2, type);
}

function modelProto(graph: Graph, external?: ExternalData): ProtoMessage {
  if (graph.outputs.length === 0)
    throw new Error(`graph ${graph.name} has no outputs; call g.output(name, value)`);
  const g = new ProtoMessage();
  for (const node of graph.nodes) g.message(1, nodeProto(node));
  g.string(2, graph.name);
  for (const init of graph.initializers) g.message(5, tensorProto(init.name, init.data!, external));
  for (const input of [...graph.inputs, ...graph.params]) g.message(11, valueInfoProto(input));
  for (const output of graph.outputs) g.message(12, valueInfoProto(output));
  const model = new ProtoMessage().varint(1, IR_VERSION).string(2, 'mmit').string(3, '0.1.0');
  model.message(7, g);
  for (const [domain, version] of graph.opsets) {
    model.message(8, new ProtoMessage().string(1, domain).varint(2, version));
  }
  return model.finish();
}

/** The whole model as bytes, initializers inline (models under 2 GB). */
export function serializeModel(graph: Graph): Uint8Array {
  return modelProto(graph).toBytes();
}

export function initializerBytes(graph: Graph): number {
  return graph.initializers.reduce((sum, v) => sum + (v.data?.data.byteLength ?? 0), 0);
}

export interface SaveOptions {
  /** 'auto' (default): external data above EXTERNAL_DATA_THRESHOLD bytes of initializers. */
  externalData?: boolean | 'auto';
}

/** Writes `path` (and `path + '.data'` with external data); returns the files written. */
export function saveModel(graph: Graph, path: string, options: SaveOptions = {}): string[] {
  const mode = options.externalData ?? 'auto';
  const useExternal = mode === 'auto' ? initializerBytes(graph) > EXTERNAL_DATA_THRESHOLD : mode;
  const dataPath = `${path}.data`;
  const external: ExternalData | undefined = useExternal
    ? { location: basename(dataPath), chunks: [], length: 0 }
    : undefined;
  const model = modelProto(graph, external);
  writeChunks(path, model.chunks);
  if (!external) return [path];
  writeChunks(dataPath, external.chunks);
  return [path, dataPath];
}

function writeChunks(path: string, chunks: Uint8Array[]): void {
  const fd = openSync(path, 'w');
  try {
    for (const chunk of chunks) {
      let done = 0;
      while (done < chunk.byteLength) done += writeSync(fd, chunk, done, chunk.byteLength - done);
    }
  } finally {
    closeSync(fd);
  }
}
