// Job records that outlive a storage outage. service-kit's JobRunner writes every record straight
// to the bucket; when the bucket is down (the very failure an import may be reporting) that write
// fails and the runner drops the record, so `GET /v1/jobs/:id` could only answer 503 and a job's
// final state would never be stored. This view of the bucket, given to the runner only, keeps each
// job record the bucket refused in memory, answers reads of it from there, and writes it out as
// soon as the bucket answers again (and once more at shutdown).
//
// Limits: memory of this process only; another replica sees the last record that reached the
// bucket. Everything except job-record writes and reads passes straight through. Belongs in the
// runner itself; it lives here until service-kit holds unwritten records the same way.
import { keys } from '@mmit/contracts';
import { type Bucket, StorageUnavailableError } from '@mmit/storage';

const RETRY_MS = 5_000;

export interface OutageTolerantRecords {
  /** The bucket to give the JobRunner. */
  bucket: Bucket;
  /** Stops retrying in the background; records still unwritten are attempted once more. */
  close(): Promise<void>;
}

export function outageTolerantRecords(bucket: Bucket, service: string): OutageTolerantRecords {
  const prefix = keys.jobsPrefix(service);
  const unwritten = new Map<string, unknown>();
  let retryTimer: NodeJS.Timeout | undefined;

  async function flush(): Promise<void> {
    for (const [key, record] of [...unwritten]) {
      await bucket.putJson(key, record);
      // A newer refused write of the same record may have arrived meanwhile: keep that one.
      if (unwritten.get(key) === record) unwritten.delete(key);
    }
  }

  function scheduleRetry(): void {
    if (retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      flush().catch(scheduleRetry);
    }, RETRY_MS);
    retryTimer.unref();
  }

  const putJson: Bucket['putJson'] = async (key, value, schema) => {
    if (!key.startsWith(prefix)) return bucket.putJson(key, value, schema);
    try {
      await bucket.putJson(key, value, schema);
      unwritten.delete(key);
    } catch (err) {
      if (!(err instanceof StorageUnavailableError)) throw err;
      unwritten.set(key, value);
      scheduleRetry();
    }
  };

  // The runner reads records with a schema; an unwritten record is newer than the stored one.
  const getJsonIfExists = (async (key: string, schema?: Parameters<Bucket['getJson']>[1]) => {
    if (unwritten.has(key)) return schema ? schema.parse(unwritten.get(key)) : unwritten.get(key);
    return schema ? bucket.getJsonIfExists(key, schema) : bucket.getJsonIfExists(key);
  }) as Bucket['getJsonIfExists'];

  const getJson = (async (key: string, schema?: Parameters<Bucket['getJson']>[1]) => {
    if (unwritten.has(key)) return schema ? schema.parse(unwritten.get(key)) : unwritten.get(key);
    return schema ? bucket.getJson(key, schema) : bucket.getJson(key);
  }) as Bucket['getJson'];

  const overrides: Partial<Record<keyof Bucket, unknown>> = { putJson, getJsonIfExists, getJson };
  const view = new Proxy(bucket, {
    get(target, property) {
      if (property in overrides) return overrides[property as keyof Bucket];
      const value = Reflect.get(target, property);
      // Bucket methods use its private fields: call them on the bucket itself, not the proxy.
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });

  return {
    bucket: view,
    async close() {
      clearTimeout(retryTimer);
      retryTimer = undefined;
      await flush().catch(() => undefined);
    },
  };
}
