// A bounded load test with autocannon against one completion request, loopback only; for
// bench/serve (autocannon is this package's dev dependency, so it is imported from here).
import autocannon from 'autocannon';

export interface LoadResult {
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  timeouts: number;
  /** HTTP status -> count. */
  codes: Record<string, number>;
}

export async function loadTest(
  url: string,
  body: unknown,
  seconds: number,
  connections: number,
  /** Run the client in a worker thread, off the event loop of an in-process server. */
  options: { worker?: boolean } = {},
): Promise<LoadResult> {
  if (!/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(url))
    throw new Error(`load tests run on loopback only, not ${url}`);
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    connections,
    duration: seconds,
    timeout: 60,
    ...(options.worker ? { workers: 1 } : {}),
  });
  const codes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, (s as { count: number }).count]),
  );
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    codes,
  };
}

/** A PNG of seeded noise (it compresses badly, so decoding it costs what a real photo does). */
export async function noisePng(side: number, seed = 1): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const pixels = Buffer.alloc(side * side * 3);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < pixels.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    pixels[i] = state & 255;
  }
  return sharp(pixels, { raw: { width: side, height: side, channels: 3 } })
    .png()
    .toBuffer();
}

/** A PNG of one flat colour: tiny in bytes, but decoding it costs what its pixel count says. */
export async function flatPng(side: number): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  return sharp({ create: { width: side, height: side, channels: 3, background: { r: 90, g: 140, b: 200 } } })
    .png()
    .toBuffer();
}
