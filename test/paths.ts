// Where tests find things outside their own package.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** The Hugging Face golden cases (`../shared/fixtures/hf-tiny` beside the checkout; CI has the same path). */
export const fixturesDir = resolve(
  process.env.MMIT_FIXTURES ?? join(repoRoot, '..', 'shared', 'fixtures', 'hf-tiny'),
);

export function fixture(name: string): string {
  const path = join(fixturesDir, name);
  if (!existsSync(path))
    throw new Error(`fixture ${name} not found under ${fixturesDir} (set MMIT_FIXTURES)`);
  return path;
}

/** The golden cases of the decoder families beyond Llama/Qwen2, made by bench/goldens/make_decoders.py. */
export const decoderFixturesDir = join(repoRoot, 'fixtures', 'hf-tiny-decoders');
