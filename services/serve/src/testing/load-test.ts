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
