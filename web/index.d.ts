// index.d.ts — TypeScript declarations of wasmind-onnx (web/index.js), shaped like onnxruntime-web's so that
// switching is an import change.

export type TensorType =
  | 'float32' | 'uint8' | 'int8' | 'uint16' | 'int16' | 'int32' | 'int64' | 'bool'
  | 'float16' | 'float64' | 'uint32' | 'uint64';

export type TensorData =
  | Float32Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Int32Array | BigInt64Array
  | Float64Array | Uint32Array | BigUint64Array;

export declare class Tensor {
  /** `type` as in onnxruntime-web; 'bool' and 'uint8' hold Uint8Array, 'float16' raw Uint16Array bits. */
  constructor(type: TensorType, data: TensorData | readonly number[] | readonly bigint[] | readonly boolean[], dims?: readonly number[]);
  /** Type inferred from the typed array, as onnxruntime-web's `new Tensor(data, dims)`. */
  constructor(data: TensorData, dims?: readonly number[]);
  readonly type: TensorType;
  readonly data: TensorData;
  readonly dims: readonly number[];
  readonly size: number;
  reshape(dims: readonly number[]): Tensor;
}

export interface ValueMetadata {
  name: string;
  type: TensorType | 'unknown';
  /** -1 where the model leaves a dimension symbolic; undefined when the rank is unknown */
  shape?: number[];
}

export interface SessionOptions {
  /** Threads (Web Workers / worker_threads over shared memory); default min(4, ceil(cores / 2)). Falls back to
   *  1 with a console notice where SharedArrayBuffer is unavailable (page not cross-origin isolated). */
  threads?: number;
  /** onnxruntime-web's name for `threads`. */
  intraOpNumThreads?: number;
  /** Accepted for onnxruntime-web compatibility and ignored: this package is its own execution provider. */
  executionProviders?: unknown[];
  graphOptimizationLevel?: string;
  [key: string]: unknown;
}

export declare namespace InferenceSession {
  type FeedsType = Record<string, Tensor>;
  type ReturnType = Record<string, Tensor>;
}

export declare class InferenceSession {
  /** Model bytes, a URL, or (Node.js) a file path / (browser) a URL string. */
  static create(model: ArrayBuffer | Uint8Array | ArrayBufferView | URL | string, options?: SessionOptions): Promise<InferenceSession>;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: ValueMetadata[];
  readonly outputMetadata: ValueMetadata[];
  /** Threads this session runs on. */
  readonly threads: number;
  run(feeds: InferenceSession.FeedsType, fetches?: readonly string[]): Promise<InferenceSession.ReturnType>;
  release(): Promise<void>;
}

export declare const env: {
  wasm: {
    /** Where wasmind-onnx.wasm / wasmind-onnx-mt.wasm are (URL or, in Node.js, a directory); default ./dist/.
     *  Read when a thread count is first used (modules are compiled once). */
    wasmPaths?: string | URL;
    numThreads?: number;
  };
};

declare const _default: { InferenceSession: typeof InferenceSession; Tensor: typeof Tensor; env: typeof env };
export default _default;
