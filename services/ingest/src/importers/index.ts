// The importers, one per format, behind one entry point: `importEntries(format, tree, options)`.
// `folder`, `tar` and `zip` all mean "media files with caption sidecars" (the container is
// recognised from the bytes); the other formats name their layout and work in any container.
import { importCoco } from './coco.js';
import { importCsv } from './csv.js';
import { importHfFolder } from './hf-folder.js';
import { importJsonl } from './jsonl.js';
import { importLlava } from './llava.js';
import { importParquet } from './parquet.js';
import { importSidecars } from './sidecar.js';
import type { FileTree } from './trees/types.js';
import type { ImportItem, ImportOptions } from './types.js';
import { importWebDataset } from './webdataset.js';

export const IMPORTERS = {
  folder: importSidecars,
  tar: importSidecars,
  zip: importSidecars,
  'llava-json': importLlava,
  coco: importCoco,
  webdataset: importWebDataset,
  jsonl: importJsonl,
  csv: importCsv,
  'hf-folder': importHfFolder,
  parquet: importParquet,
} as const satisfies Record<string, (tree: FileTree, options?: ImportOptions) => AsyncGenerator<ImportItem>>;

export type ImporterFormat = keyof typeof IMPORTERS;

export class UnknownFormatError extends Error {
  constructor(readonly format: string) {
    super(
      `unknown import format ${JSON.stringify(format)}; valid formats: ${Object.keys(IMPORTERS).join(', ')}`,
    );
    this.name = 'UnknownFormatError';
  }
}

export function importEntries(
  format: string,
  tree: FileTree,
  options: ImportOptions = {},
): AsyncGenerator<ImportItem> {
  if (!Object.hasOwn(IMPORTERS, format)) throw new UnknownFormatError(format);
  return IMPORTERS[format as ImporterFormat](tree, options);
}

export * from './sources.js';
export type { FileTree, TreeFile } from './trees/types.js';
export * from './types.js';
