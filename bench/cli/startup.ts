// CLI start-up: the median wall time of `mmit --help` and of one real command on an error path
// (`mmit train ls` against a URL where nothing listens: argument parsing, the train group, the
// HTTP client and the error printer), run as a user runs them: the bundle through
// packages/cli/bin/mmit.mjs (what `pnpm mmit` runs now) and the TypeScript sources through tsx
// (what it ran before). Each is divided by `node -e 0` measured in the same run, alternating
// with it, so load from elsewhere on a shared machine falls on every row alike. `--pnpm` adds
// `npx -y pnpm@12.4.2 mmit --help`, the README's way in, whose package-manager start-up is
// outside mmit. Usage:
//   tsx bench/cli/startup.ts [--runs 7] [--tsx-runs 3] [--pnpm]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    'tsx-runs': { type: 'string', default: '3' },
    pnpm: { type: 'boolean', default: false },
  },
});
const nowhere = 'http://127.0.0.1:9'; // the discard port: nothing answers, the command fails fast

interface Case {
  name: string;
  command: string[];
  runs: number;
  /** The exit status the command must end with (an error path exits non-zero on purpose). */
  status: number;
}

const node = process.execPath;
const launcher = 'packages/cli/bin/mmit.mjs';
const sources = ['--import', 'tsx', 'packages/cli/src/main.ts'];
const runs = Number(values.runs);
const tsxRuns = Number(values['tsx-runs']);
const cases: Case[] = [
  { name: 'node -e 0', command: [node, '-e', '0'], runs, status: 0 },
  { name: 'mmit --help (bundle)', command: [node, launcher, '--help'], runs, status: 0 },
  {
    name: 'mmit train ls, no stack (bundle)',
    command: [node, launcher, '--url', nowhere, 'train', 'ls'],
    runs,
    status: 1,
  },
  { name: 'mmit --help (tsx, before)', command: [node, ...sources, '--help'], runs: tsxRuns, status: 0 },
  {
    name: 'mmit train ls, no stack (tsx, before)',
    command: [node, ...sources, '--url', nowhere, 'train', 'ls'],
    runs: tsxRuns,
    status: 1,
  },
];
if (values.pnpm)
  cases.push({
    name: 'npx -y pnpm@12.4.2 mmit --help',
    command: ['npx', '-y', 'pnpm@12.4.2', 'mmit', '--help'],
    runs: tsxRuns,
    status: 0,
  });

function seconds(command: string[], status: number): number {
  const started = performance.now();
  const result = spawnSync(command[0], command.slice(1), { cwd: root, stdio: 'pipe', encoding: 'utf8' });
  const elapsed = (performance.now() - started) / 1000;
  if (result.status !== status)
    throw new Error(`${command.join(' ')} exited ${result.status}, expected ${status}: ${result.stderr}`);
  return elapsed;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Warm the file cache (and the bundle, if a source changed) before timing anything.
seconds([node, launcher, '--help'], 0);
const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
const baseline = cases[0];
for (const c of cases.slice(1)) {
  for (let i = 0; i < c.runs; i++) {
    times.get(baseline.name)?.push(seconds(baseline.command, baseline.status));
    times.get(c.name)?.push(seconds(c.command, c.status));
  }
}
const base = median(times.get(baseline.name) ?? []);
console.log(
  `${'command'.padEnd(42)} ${'runs'.padStart(4)} ${'median s'.padStart(9)} ${'x node -e 0'.padStart(12)}`,
);
for (const c of cases) {
  const t = times.get(c.name) ?? [];
  const m = median(t);
  console.log(
    `${c.name.padEnd(42)} ${String(t.length).padStart(4)} ${m.toFixed(3).padStart(9)} ${(m / base).toFixed(1).padStart(12)}`,
  );
}
