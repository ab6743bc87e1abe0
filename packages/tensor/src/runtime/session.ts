// Running graphs on onnxruntime-node: pick the execution provider (cpu by default; webgpu or cuda
// on request, falling back to cpu with the reason returned and logged), convert between HostTensor
// and ort.Tensor, and reuse one session per (model, options). Graph optimisation is 'all' and
// intra-op threads default to the machine's cores. Models above the protobuf limit are written to
// a cache folder with external data and loaded by path.

import { mkdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { DType, HostTensor, TypedArray } from '../dtype.js';
import type { Graph } from '../graph/graph.js';
import { EXTERNAL_DATA_THRESHOLD, initializerBytes, saveModel, serializeModel } from '../onnx/encode.js';
import { type Float16Options, toFloat16 } from './float16.js';

export type ExecutionProvider = 'cpu' | 'webgpu' | 'cuda';
export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'webgpu', 'cuda'];

export interface SessionOptions {
  ep?: ExecutionProvider;
  /** Intra-op threads (default: all cores). */
  threads?: number;
  /** Convert the graph to float16 compute before loading (see toFloat16). */
  float16?: boolean | Float16Options;
  /** Where models too large to pass as a buffer are written (default: $TMPDIR/mmit-onnx). */
  cacheDir?: string;
  /** onnxruntime log level: 0 verbose .. 4 fatal (default 3, errors only). */
  logSeverity?: 0 | 1 | 2 | 3 | 4;
  /** Where the fallback reason goes (default console.warn). */
  log?: (message: string) => void;
  /** Reuse a cached session for the same model and options (default true). */
  cache?: boolean;
}

export interface Session {
  /** The provider the session really runs on. */
  readonly ep: ExecutionProvider;
  readonly requestedEp: ExecutionProvider;
  /** Why the requested provider was not used, when it was not. */
  readonly fallbackReason: string | null;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs the model; `outputs` narrows what is fetched (default: every output). */
  run(feeds: Record<string, HostTensor>, outputs?: string[]): Promise<Record<string, HostTensor>>;
  release(): Promise<void>;
}

export class SessionError extends Error {
  override name = 'SessionError';
}

export type ModelSource = Graph | Uint8Array | string;

const cachedByObject = new WeakMap<object, Map<string, Promise<Session>>>();
const cachedByPath = new Map<string, Map<string, Promise<Session>>>();

/** Creates (or reuses) a session for a graph, serialized model bytes, or a .onnx path. */
export function createSession(model: ModelSource, options: SessionOptions = {}): Promise<Session> {
  const ep = options.ep ?? 'cpu';
  if (!EXECUTION_PROVIDERS.includes(ep)) {
    return Promise.reject(
      new SessionError(`unknown execution provider '${ep}'; valid: ${EXECUTION_PROVIDERS.join(', ')}`),
    );
  }
  if (options.cache === false) return openSession(model, options);
  const version =
    typeof model === 'object' && 'nodes' in model ? `${model.nodes.length}/${model.outputs.length}` : '';
  const key = JSON.stringify([ep, options.threads, options.float16, options.logSeverity, version]);
  let perModel = typeof model === 'string' ? cachedByPath.get(model) : cachedByObject.get(model);
  if (!perModel) {
    perModel = new Map();
    if (typeof model === 'string') cachedByPath.set(model, perModel);
    else cachedByObject.set(model, perModel);
  }
  let session = perModel.get(key);
  if (!session) {
    session = openSession(model, options);
    perModel.set(key, session);
    session.catch(() => perModel.delete(key));
  }
  return session;
}

async function openSession(model: ModelSource, options: SessionOptions): Promise<Session> {
  const requestedEp = options.ep ?? 'cpu';
  const log = options.log ?? ((message: string) => console.warn(message));
  const loadable = toLoadable(model, options);
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: options.threads ?? availableParallelism(),
    logSeverityLevel: options.logSeverity ?? 3,
  };
  let ep: ExecutionProvider = requestedEp;
  let fallbackReason: string | null = null;
  let inner: ort.InferenceSession;
  if (requestedEp === 'cpu') {
    inner = await create(loadable, { ...base, executionProviders: ['cpu'] });
  } else {
    try {
      const supported = ort.listSupportedBackends().map((b) => b.name);
      if (!supported.includes(requestedEp)) {
        throw new Error(
          `this onnxruntime-node build has no ${requestedEp} provider (it has: ${supported.join(', ')})`,
        );
      }
      inner = await create(loadable, { ...base, executionProviders: [requestedEp, 'cpu'] });
    } catch (error) {
      fallbackReason = `${requestedEp} unavailable, using cpu: ${(error as Error).message.split('\n')[0]}`;
      log(`[mmit/tensor] ${fallbackReason}`);
      ep = 'cpu';
      inner = await create(loadable, { ...base, executionProviders: ['cpu'] });
    }
  }
  return wrap(inner, ep, requestedEp, fallbackReason);
}

function toLoadable(model: ModelSource, options: SessionOptions): Uint8Array | string {
  if (typeof model === 'string' || model instanceof Uint8Array) return model;
  const graph = options.float16 ? toFloat16(model, options.float16 === true ? {} : options.float16) : model;
  if (initializerBytes(graph) <= EXTERNAL_DATA_THRESHOLD) return serializeModel(graph);
  const dir = options.cacheDir ?? join(tmpdir(), 'mmit-onnx');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${graph.name.replace(/[^\w.-]/g, '_')}-${process.pid}-${Date.now()}.onnx`);
  saveModel(graph, path, { externalData: true });
  return path;
}

async function create(
  model: Uint8Array | string,
  options: ort.InferenceSession.SessionOptions,
): Promise<ort.InferenceSession> {
  try {
    return typeof model === 'string'
      ? await ort.InferenceSession.create(model, options)
      : await ort.InferenceSession.create(model, options);
  } catch (error) {
    throw new SessionError(`onnxruntime rejected the model: ${(error as Error).message}`);
  }
}

function wrap(
  inner: ort.InferenceSession,
  ep: ExecutionProvider,
  requestedEp: ExecutionProvider,
  fallbackReason: string | null,
): Session {
  return {
    ep,
    requestedEp,
    fallbackReason,
    inputNames: inner.inputNames,
    outputNames: inner.outputNames,
    async run(feeds, outputs) {
      const missing = inner.inputNames.filter((n) => !(n in feeds));
      if (missing.length) {
        throw new SessionError(
          `missing feeds: ${missing.join(', ')}; the model takes ${inner.inputNames.join(', ')}`,
        );
      }
      const unknown = Object.keys(feeds).filter((n) => !inner.inputNames.includes(n));
      if (unknown.length) {
        throw new SessionError(
          `unknown feeds: ${unknown.join(', ')}; the model takes ${inner.inputNames.join(', ')}`,
        );
      }
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrt(t, name);
      let results: ort.InferenceSession.ReturnType;
      try {
        results = outputs ? await inner.run(ortFeeds, outputs) : await inner.run(ortFeeds);
      } catch (error) {
        throw new SessionError(`run failed: ${(error as Error).message}`);
      }
      const out: Record<string, HostTensor> = {};
      for (const [name, t] of Object.entries(results)) out[name] = fromOrt(t);
      return out;
    },
    release: () => inner.release(),
  };
}

const ORT_TYPES: Partial<Record<DType, ort.Tensor.Type>> = {
  float32: 'float32',
  float16: 'float16',
  float64: 'float64',
  int64: 'int64',
  int32: 'int32',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
};

export function toOrt(t: HostTensor, name = 'tensor'): ort.Tensor {
  const type = ORT_TYPES[t.dtype];
  if (!type)
    throw new SessionError(`feed ${name}: onnxruntime-node cannot take ${t.dtype}; convert it to float32`);
  return new ort.Tensor(type, t.data as ort.Tensor.DataTypeMap[typeof type], t.dims);
}

export function fromOrt(t: ort.Tensor): HostTensor {
  const dtype = (Object.entries(ORT_TYPES).find(([, v]) => v === t.type)?.[0] ?? null) as DType | null;
  if (!dtype)
    throw new SessionError(`onnxruntime returned a ${t.type} tensor, which HostTensor does not hold`);
  let data = t.data as TypedArray;
  // onnxruntime may hand float16 back as Float16Array where the runtime has one; keep raw bits.
  if (dtype === 'float16' && !(data instanceof Uint16Array)) {
    data = new Uint16Array(data.buffer, data.byteOffset, data.length);
  }
  return { dtype, dims: [...t.dims], data } as HostTensor;
}
