import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunState } from '../../api/types.js';
import { newerState } from './run-state.js';

const state = (status: RunState['status'], updatedAt: string) => ({ status, updatedAt }) as RunState;

test("a late cancel answer does not undo the 'cancelled' state the stream already delivered", () => {
  const cancelled = state('cancelled', '2026-01-01T00:00:02.000Z');
  const answer = state('running', '2026-01-01T00:00:01.000Z');
  assert.equal(newerState(cancelled, answer), cancelled);
  const resumed = state('queued', '2026-01-01T00:00:03.000Z');
  assert.equal(newerState(cancelled, resumed), resumed);
  assert.equal(newerState(undefined, answer), answer);
  assert.equal(
    newerState(answer, state('running', answer.updatedAt)).status,
    'running',
    'a tie takes the newcomer',
  );
});
