import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CorpusId, idPattern, idTime, newId } from './ids.js';

test('ids carry their kind prefix and the creation time', () => {
  const t = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
  const id = newId('corpus', t);
  assert.match(id, /^c_[0-9A-HJKMNP-TV-Z]{22}$/);
  assert.equal(idTime(id), t);
  assert.ok(idPattern('corpus').test(id));
  assert.ok(!idPattern('job').test(id), 'a corpus id is not a job id');
});

test('ids sort by creation time as plain strings', () => {
  const times = [5, 1_000, 1_700_000_000_000, 1_700_000_000_001, 2_000_000_000_000];
  const ids = times.map((t) => newId('job', t));
  assert.deepEqual([...ids].sort(), ids);
});

test('ids made in the same millisecond differ', () => {
  const ids = new Set(Array.from({ length: 1000 }, () => newId('item', 42)));
  assert.equal(ids.size, 1000);
});

test('the id schema rejects other kinds, lowercase and path tricks', () => {
  assert.ok(CorpusId.safeParse(newId('corpus')).success);
  for (const bad of [newId('job'), 'c_../../etc', `c_${'a'.repeat(22)}`, '', 'c_']) {
    const r = CorpusId.safeParse(bad);
    assert.ok(!r.success, `accepted ${bad}`);
  }
  const r = CorpusId.safeParse('nope');
  assert.ok(!r.success && r.error.issues[0].message.includes('corpus id like c_'));
});
