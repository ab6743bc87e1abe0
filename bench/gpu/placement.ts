// Reads onnxruntime's verbose session log (log severity 0) and prints where the nodes went: the
// count per execution provider, the op types placed on the CPU (with counts), and the op types the
// GPU provider said it has no kernel for. onnxruntime keeps shape arithmetic (Shape, Gather on
// shapes, Concat of dims...) on the CPU on purpose; what matters is that no heavy op lands there.
// A log may hold several sessions, separated by the bench's `=== placement: LABEL` marker lines.
// Run: node placement.mjs LOG [LOG...]   (or npx tsx bench/gpu/placement.ts LOG)
import { readFileSync } from 'node:fs';

export interface Placement {
  /** Nodes per execution provider, as onnxruntime counted them. */
  nodes: Record<string, number>;
  /** Op type -> count, for nodes placed on the CPU provider. */
  cpuOps: Record<string, number>;
  /** Op types a GPU provider had no kernel for (from GetCapability's messages). */
  missingKernels: string[];
}

// "Node(s) placed on [X]. Number of nodes: N" heads a list of "  OpType (node name)" lines; when one
// provider takes everything onnxruntime prints "All nodes placed on [X]" with the count only.
const HEADER = /(?:Node\(s\)|All nodes) placed on \[(\w+)\]\. Number of nodes: (\d+)/;
const NODE = /VerifyEachNodeIsAssignedToAnEp\]\s{2,}(\w+) \(/;
const MISSING = /kernel not found in registries for Op type: (\w+)/;

export function parsePlacement(log: string): Placement {
  const placement: Placement = { nodes: {}, cpuOps: {}, missingKernels: [] };
  let current: string | null = null;
  for (const line of log.split('\n')) {
    const header = HEADER.exec(line);
    if (header) {
      current = header[1];
      placement.nodes[current] = (placement.nodes[current] ?? 0) + Number(header[2]);
      continue;
    }
    const node = NODE.exec(line);
    if (node && current === 'CPUExecutionProvider') {
      placement.cpuOps[node[1]] = (placement.cpuOps[node[1]] ?? 0) + 1;
      continue;
    }
    if (!node) current = null;
    const missing = MISSING.exec(line);
    if (missing && !placement.missingKernels.includes(missing[1])) placement.missingKernels.push(missing[1]);
  }
  return placement;
}

export interface SessionLog {
  label: string;
  placement: Placement;
  /** onnxruntime log lines written between the `=== runs:` and `=== end:` markers. */
  runLogLines: number;
}

/**
 * Splits a log in which the bench wrote `=== placement: LABEL` before opening each session and
 * `=== runs: ...` / `=== end: ...` around its timed runs; a log without markers is one session.
 */
export function sessionLogs(log: string): SessionLog[] {
  const sections: { label: string; lines: string[] }[] = [];
  for (const line of log.split('\n')) {
    const start = /^=== placement: (.*)$/.exec(line);
    if (start || sections.length === 0) sections.push({ label: start ? start[1] : '(unmarked)', lines: [] });
    if (!start) sections[sections.length - 1].lines.push(line);
  }
  return sections.map(({ label, lines }) => {
    const runsAt = lines.findIndex((l) => l.startsWith('=== runs:'));
    const endAt = lines.findIndex((l) => l.startsWith('=== end:'));
    const runLogLines = runsAt >= 0 ? (endAt > runsAt ? endAt : lines.length) - runsAt - 1 : 0;
    return { label, placement: parsePlacement(lines.join('\n')), runLogLines };
  });
}

if (process.argv[1] && /placement\.(ts|mjs)$/.test(process.argv[1])) {
  for (const path of process.argv.slice(2)) {
    for (const { label, placement: p, runLogLines } of sessionLogs(readFileSync(path, 'utf8'))) {
      const cpu = Object.entries(p.cpuOps)
        .sort((a, b) => b[1] - a[1])
        .map(([op, n]) => `${op} ${n}`)
        .join(', ');
      console.log(`${path} :: ${label}`);
      console.log(`  nodes per provider: ${JSON.stringify(p.nodes)}`);
      console.log(`  on the CPU, by op: ${cpu || 'none'}`);
      console.log(`  no GPU kernel for: ${p.missingKernels.join(', ') || 'none reported'}`);
      console.log(`  log lines written during the timed runs: ${runLogLines}`);
    }
  }
}
