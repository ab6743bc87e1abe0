// The placement-log reader against onnxruntime verbose lines in the format 1.2x/1.30 print.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePlacement, sessionLogs } from './placement.js';

// Lines as onnxruntime 1.2x/1.30 prints them at verbose level.
const log = [
  '2026-11-26 [I:onnxruntime:, webgpu_execution_provider.cc:1 GetCapability] webgpu kernel not found in registries for Op type: LogSoftmax node name: loss/LogSoftmax',
  '2026-11-26 [V:onnxruntime:, session_state.cc:1 VerifyEachNodeIsAssignedToAnEp] Node placements',
  '2026-11-26 [V:onnxruntime:, session_state.cc:1 VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [WebGpuExecutionProvider]. Number of nodes: 5',
  '2026-11-26 [V:onnxruntime:, session_state.cc:1 VerifyEachNodeIsAssignedToAnEp]   MatMul (a)',
  '2026-11-26 [V:onnxruntime:, session_state.cc:1 VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 3',
  '2026-11-26 [V:onnxruntime:, session_state.cc:1 VerifyEachNodeIsAssignedToAnEp]   Shape (s1)',
  '2026-11-26 [V:onnxruntime:, session_state.cc:1 VerifyEachNodeIsAssignedToAnEp]   Shape (s2)',
  '2026-11-26 [V:onnxruntime:, session_state.cc:1 VerifyEachNodeIsAssignedToAnEp]   LogSoftmax (loss/LogSoftmax)',
  '2026-11-26 [W:onnxruntime:, session_state.cc:1 VerifyEachNodeIsAssignedToAnEp] Some nodes were not assigned to the preferred execution providers',
].join('\n');

test('counts nodes per provider, the CPU ops by type, and the missing GPU kernels', () => {
  assert.deepEqual(parsePlacement(log), {
    nodes: { WebGpuExecutionProvider: 5, CPUExecutionProvider: 3 },
    cpuOps: { Shape: 2, LogSoftmax: 1 },
    missingKernels: ['LogSoftmax'],
  });
});

test('a graph wholly on one provider', () => {
  const all =
    '[V:onnxruntime:, session_state.cc:1 VerifyEachNodeIsAssignedToAnEp]  All nodes placed on [WebGpuExecutionProvider]. Number of nodes: 52';
  assert.deepEqual(parsePlacement(all), {
    nodes: { WebGpuExecutionProvider: 52 },
    cpuOps: {},
    missingKernels: [],
  });
});

test('splits a log at the bench markers and counts the lines written during the runs', () => {
  const marked = [
    '=== placement: step fp32',
    log,
    '=== runs: step fp32',
    '[V:onnxruntime:, x.cc:1 Run] something per run',
    '=== end: step fp32',
    '=== placement: step fp16',
    '[V:onnxruntime:, session_state.cc:1 VerifyEachNodeIsAssignedToAnEp]  All nodes placed on [WebGpuExecutionProvider]. Number of nodes: 7',
    '=== runs: step fp16',
    '=== end: step fp16',
  ].join('\n');
  const sessions = sessionLogs(marked);
  assert.deepEqual(
    sessions.map((s) => [s.label, s.placement.nodes, s.runLogLines]),
    [
      ['step fp32', { WebGpuExecutionProvider: 5, CPUExecutionProvider: 3 }, 1],
      ['step fp16', { WebGpuExecutionProvider: 7 }, 0],
    ],
  );
});
