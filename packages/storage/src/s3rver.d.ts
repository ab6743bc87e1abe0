// Types for the parts of s3rver 3.7.1 (which ships none) that the embedded launcher uses.
declare module 's3rver' {
  import type { Server } from 'node:http';
  import type { AddressInfo } from 'node:net';
  import type { Readable } from 'node:stream';

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
  }

  /** An object as the store receives it: `content` is the request body. */
  interface StoredObject {
    bucket: string;
    key: string;
    content: Readable | Buffer;
    metadata: Record<string, string>;
  }

  /** s3rver's filesystem store (lib/stores/filesystem.js); s3rver-atomic.ts replaces some of its methods. */
  interface FilesystemStore {
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
    /** The bucket if its folder exists, else null. */
    getBucket(bucket: string): Promise<{ name: string } | null>;
    getMetadata(bucket: string, key: string): Promise<Record<string, unknown>>;
    getObject(
      bucket: string,
      key: string,
      options?: { start?: number; end?: number },
    ): Promise<{ content: Readable | null; metadata: Record<string, unknown> } | null>;
    putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5?: string): Promise<void>;
    putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
    putPart(
      bucket: string,
      uploadId: string,
      partNumber: number | string,
      content: Readable,
    ): Promise<{ size: number; md5: string }>;
    copyObject(
      srcBucket: string,
      srcKey: string,
      destBucket: string,
      destKey: string,
      replacementMetadata?: Record<string, string>,
    ): Promise<Record<string, unknown>>;
  }

  class S3rver {
    constructor(options?: S3rverOptions);
    httpServer: Server | undefined;
    store: FilesystemStore;
    /** Koa's middleware list (s3rver is a Koa app); the guard is inserted before the router. */
    // biome-ignore lint/suspicious/noExplicitAny: Koa middleware signatures are not typed here.
    middleware: ((ctx: any, next: () => Promise<void>) => Promise<void>)[];
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  }
  export = S3rver;
}
