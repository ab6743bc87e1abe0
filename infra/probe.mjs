// Container health check: exits 0 when the URL answers 2xx within 3 s, 1 otherwise. Plain
// JavaScript on Node's own fetch, so a check costs one short process and no compile step.
const url = process.argv[2];
if (!url) {
  console.error('usage: node infra/probe.mjs <url>');
  process.exit(64);
}
try {
  const answer = await fetch(url, { signal: AbortSignal.timeout(3_000) });
  process.exit(answer.ok ? 0 : 1);
} catch {
  process.exit(1);
}
