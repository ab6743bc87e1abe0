// Writes a planned task as folders the ingest importer reads: `<dir>/train/` and `<dir>/test/`
// with each picture or clip beside its `.txt` sidecar (one caption per line), and the answer key
// beside them: `<dir>/questions-<split>.jsonl` (one TaskQuestion per line) and `<dir>/task.json`
// (seed, held-out combinations, counts). The key is outside the media folders, so importing a
// split never imports the answers.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { heldOutOf, renderItem, type Split, type TaskPlan } from './generate.js';

export interface WrittenTask {
  dir: string;
  folders: Record<Split, string>;
  files: number;
}

export async function writeTaskFolder(dir: string, plan: TaskPlan): Promise<WrittenTask> {
  const folders = { train: join(dir, 'train'), test: join(dir, 'test') };
  for (const folder of Object.values(folders)) mkdirSync(folder, { recursive: true });
  let files = 0;
  for (const [index, item] of plan.items.entries()) {
    const rendered = await renderItem(item, index);
    const folder = folders[item.split];
    writeFileSync(join(folder, item.name), rendered.bytes);
    writeFileSync(join(folder, item.name.replace(/\.\w+$/, '.txt')), `${item.captions.join('\n')}\n`);
    files += 1;
  }
  for (const split of ['train', 'test'] as const) {
    const lines = plan.questions[split].map((q) => JSON.stringify(q)).join('\n');
    writeFileSync(join(dir, `questions-${split}.jsonl`), `${lines}\n`);
  }
  const summary = {
    seed: plan.seed,
    heldOut: heldOutOf(plan),
    items: {
      train: plan.items.filter((i) => i.split === 'train').length,
      test: plan.items.filter((i) => i.split === 'test').length,
    },
  };
  writeFileSync(join(dir, 'task.json'), JSON.stringify(summary, null, 2));
  return { dir, folders, files };
}
