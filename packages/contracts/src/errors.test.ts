import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import {
  flattenIssues,
  PROBLEMS,
  ProblemSchema,
  problem,
  REJECTION_CODES,
  RejectionSchema,
} from './errors.js';

test('problem() fills type, title and status from the one table', () => {
  const p = problem('image_too_large', '50000x50000 exceeds 16384 px', {
    item: { index: 3, key: 'a/b.jpg' },
  });
  assert.equal(p.type, 'urn:mmit:problem:image_too_large');
  assert.equal(p.status, 422);
  assert.equal(p.title, PROBLEMS.image_too_large.title);
  assert.deepEqual(p.item, { index: 3, key: 'a/b.jpg' });
  assert.ok(ProblemSchema.safeParse(p).success);
});

test('every code maps to an error status and a distinct type', () => {
  const types = new Set<string>();
  for (const [code, { status }] of Object.entries(PROBLEMS)) {
    assert.ok(status >= 400 && status < 600, code);
    types.add(problem(code as keyof typeof PROBLEMS, 'x').type);
  }
  assert.equal(types.size, Object.keys(PROBLEMS).length);
});

test('only per-item codes are rejection reasons', () => {
  assert.ok(REJECTION_CODES.includes('decode_failed'));
  assert.ok(!REJECTION_CODES.includes('unauthorized'));
  assert.ok(!RejectionSchema.safeParse({ type: 'unauthorized', detail: 'x' }).success);
});

test('flattenIssues gives dotted paths and messages', () => {
  const schema = z.object({ items: z.array(z.object({ caption: z.string() })) });
  const r = schema.safeParse({ items: [{ caption: 'ok' }, { caption: 5 }] });
  assert.ok(!r.success);
  const issues = flattenIssues(r.error);
  assert.equal(issues.length, 1);
  assert.equal(issues[0].path, 'items.1.caption');
  assert.equal(issues[0].code, 'invalid_type');
});
