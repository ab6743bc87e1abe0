import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunState } from '../../api/types.js';
import { exportCommand, newerState, runActions } from './run-state.js';

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

const checkpoint = { step: 40, prefix: 'runs/r_x/checkpoints/step-40/' };

test('a run offers only the actions that apply to its status', () => {
  assert.deepEqual(runActions({ status: 'running', lastCheckpoint: null }), {
    cancel: true,
    resume: false,
    exportable: false,
  });
  assert.deepEqual(runActions({ status: 'succeeded', lastCheckpoint: checkpoint }), {
    cancel: false,
    resume: false,
    exportable: true,
  });
  assert.deepEqual(runActions({ status: 'cancelled', lastCheckpoint: null }), {
    cancel: false,
    resume: true,
    exportable: false,
  });
  assert.deepEqual(runActions({ status: 'failed', lastCheckpoint: checkpoint }), {
    cancel: false,
    resume: true,
    exportable: true,
  });
});

test('the export command names the run and an output folder', () => {
  assert.equal(
    exportCommand('r_01JD5ZZZZZZZZZZZZZZZZZ'),
    'mmit export r_01JD5ZZZZZZZZZZZZZZZZZ --out exports/r_01JD5ZZZZZZZZZZZZZZZZZ',
  );
});
