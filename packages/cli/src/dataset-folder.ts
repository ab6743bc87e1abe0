// `mmit dataset export <id> --folder <dir>`: a dataset as a self-contained folder that the tools
// people train with read as it is, media included:
//   images/<sha256>.<ext>, audios/<sha256>.<ext>   the normalized media the samples refer to
//   llava_<split>.json                            LLaVA's train.py (`--data_path`, `--image_folder <dir>`)
//   sharegpt_<split>.jsonl + dataset_info.json    LLaMA-Factory (`--dataset_dir <dir> --dataset mmit_<id>_<split>`)
//   README.md                                     what is where and the two commands
// Paths in the records are relative to the folder. LLaMA-Factory's ShareGPT converter resolves
// them against its media_dir (the dataset dir by default), takes `from`/`value` with human/gpt
// tags, and its multimodal plugin wants as many `<image>`/`<audio>` placeholders in the turns as
// paths in `images`/`audios`; every record carries both lists (empty when the sample has none of
// that kind), so both columns exist in every split. Media are content-addressed: a file whose
// bytes hash to its name is kept (a rerun resumes), a download whose bytes do not is refused.
import { createHash } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  type WriteStream,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Sample, Split } from '@mmit/contracts';

/** The bytes of a media key (`media/sha256/ab/<sha>.<ext>`). */
export type FetchMedia = (key: string) => Promise<Readable>;

export interface DatasetFolderOptions {
  dir: string;
  datasetId: string;
  samples: AsyncIterable<Sample>;
  fetchMedia: FetchMedia;
  /** Downloads at once (default 4). */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface DatasetFolderResult {
  samples: Record<Split, number>;
  media: { files: number; downloaded: number; kept: number };
  files: string[];
}

export class DatasetFolderError extends Error {
  override name = 'DatasetFolderError';
}

const MEDIA_KEY = /^media\/sha256\/[0-9a-f]{2}\/([0-9a-f]{64})\.([a-z0-9]{1,16})$/;

/** The folder-relative path of a sample's media (images/ or audios/ by the key's kind). */
function localPath(key: string, kind: 'image' | 'audio'): { path: string; sha256: string } {
  const match = MEDIA_KEY.exec(key);
  if (!match) throw new DatasetFolderError(`sample media ${key} is not a media key (media/sha256/...)`);
  return { path: `${kind === 'image' ? 'images' : 'audios'}/${match[1]}.${match[2]}`, sha256: match[1] };
}

const sha256Of = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** One split's two record files, written as the samples stream past. */
class SplitWriter {
  private llava: WriteStream;
  private sharegpt: WriteStream;
  count = 0;
  constructor(dir: string, split: Split) {
    this.llava = createWriteStream(join(dir, `llava_${split}.json`));
    this.sharegpt = createWriteStream(join(dir, `sharegpt_${split}.jsonl`));
    this.llava.write('[');
  }
  write(sample: Sample, image: string | undefined, audio: string | undefined): void {
    const llava = {
      id: sample.id,
      ...(image ? { image } : {}),
      ...(audio ? { audio } : {}),
      conversations: sample.conversations,
    };
    this.llava.write(`${this.count === 0 ? '\n' : ',\n'}${JSON.stringify(llava)}`);
    const sharegpt = {
      id: sample.id,
      conversations: sample.conversations,
      images: image ? [image] : [],
      audios: audio ? [audio] : [],
    };
    this.sharegpt.write(`${JSON.stringify(sharegpt)}\n`);
    this.count++;
  }
  async close(): Promise<void> {
    this.llava.write(this.count === 0 ? ']\n' : '\n]\n');
    await Promise.all(
      [this.llava, this.sharegpt].map(
        (s) => new Promise<void>((resolve, reject) => s.end((e?: Error) => (e ? reject(e) : resolve()))),
      ),
    );
  }
}

/** LLaMA-Factory's dataset_info.json entries for the splits written. */
export function datasetInfo(datasetId: string, splits: Split[]): Record<string, unknown> {
  return Object.fromEntries(
    splits.map((split) => [
      `mmit_${datasetId}_${split}`,
      {
        file_name: `sharegpt_${split}.jsonl`,
        formatting: 'sharegpt',
        columns: { messages: 'conversations', images: 'images', audios: 'audios' },
        tags: { role_tag: 'from', content_tag: 'value', user_tag: 'human', assistant_tag: 'gpt' },
      },
    ]),
  );
}

function readme(datasetId: string, result: DatasetFolderResult): string {
  const splits = (Object.keys(result.samples) as Split[]).filter((s) => result.samples[s] > 0);
  return [
    `# Dataset ${datasetId}, exported by mmit`,
    '',
    ...splits.map((s) => `- ${s}: ${result.samples[s]} samples`),
    `- ${result.media.files} media files under images/ and audios/ (named by the sha256 of their bytes)`,
    '',
    '## LLaMA-Factory',
    '',
    `\`dataset_dir: <this folder>\` and \`dataset: ${splits.map((s) => `mmit_${datasetId}_${s}`).join(',')}\` (ShareGPT format, see dataset_info.json).`,
    '',
    '## LLaVA',
    '',
    `\`--data_path <this folder>/llava_train.json --image_folder <this folder>\` (audio samples carry an \`audio\` path instead of \`image\`).`,
    '',
  ].join('\n');
}

/** Downloads `key` to `path` unless a file with the right bytes is there; true when it downloaded. */
async function fetchOne(dir: string, key: string, path: string, sha256: string, fetchMedia: FetchMedia) {
  const target = join(dir, path);
  if (existsSync(target) && sha256Of(target) === sha256) return false;
  const partial = `${target}.partial`;
  await pipeline(await fetchMedia(key), createWriteStream(partial));
  const got = sha256Of(partial);
  if (got !== sha256) {
    throw new DatasetFolderError(`media ${key} arrived with sha256 ${got}; its name says ${sha256}`);
  }
  renameSync(partial, target);
  return true;
}

export async function writeDatasetFolder(options: DatasetFolderOptions): Promise<DatasetFolderResult> {
  const { dir } = options;
  for (const sub of ['images', 'audios']) mkdirSync(join(dir, sub), { recursive: true });
  const writers = new Map<Split, SplitWriter>();
  const media = new Map<string, { path: string; sha256: string }>();
  for await (const sample of options.samples) {
    let writer = writers.get(sample.split);
    if (!writer) {
      writer = new SplitWriter(dir, sample.split);
      writers.set(sample.split, writer);
    }
    const image = sample.image ? localPath(sample.image, 'image') : undefined;
    const audio = sample.audio ? localPath(sample.audio, 'audio') : undefined;
    if (image && sample.image) media.set(sample.image, image);
    if (audio && sample.audio) media.set(sample.audio, audio);
    writer.write(sample, image?.path, audio?.path);
  }
  for (const writer of writers.values()) await writer.close();

  // Downloads, a few at once, in a stable order.
  const queue = [...media.entries()].sort(([a], [b]) => a.localeCompare(b));
  let done = 0;
  let downloaded = 0;
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [key, { path, sha256 }] = next;
      if (await fetchOne(dir, key, path, sha256, options.fetchMedia)) downloaded++;
      options.onProgress?.(++done, media.size);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));

  const splits = [...writers.keys()].sort();
  writeFileSync(
    join(dir, 'dataset_info.json'),
    `${JSON.stringify(datasetInfo(options.datasetId, splits), null, 2)}\n`,
  );
  const result: DatasetFolderResult = {
    samples: { train: writers.get('train')?.count ?? 0, validation: writers.get('validation')?.count ?? 0 },
    media: { files: media.size, downloaded, kept: media.size - downloaded },
    files: [
      ...splits.flatMap((s) => [`llava_${s}.json`, `sharegpt_${s}.jsonl`]),
      'dataset_info.json',
      'README.md',
    ],
  };
  writeFileSync(join(dir, 'README.md'), readme(options.datasetId, result));
  return result;
}
