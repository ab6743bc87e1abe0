// Media for the browser tests: small images different enough to pass near-duplicate checks (each
// a gradient at another angle with a block), each with a caption sidecar, plus a file that only
// looks like an image.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';

const SUBJECTS = [
  'a red kite flying over a green field',
  'a blue boat on a calm lake at dawn',
  'a yellow bicycle leaning against a brick wall',
  'two cats sleeping on a wooden bench',
  'a lighthouse on a rocky coast under grey clouds',
  'a bowl of oranges on a kitchen table',
];

/** A PNG (96x72 unless told): a gradient whose direction and colours depend on `seed`, with a dark block. */
export async function gradientPng(seed: number, width = 96, height = 72): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  const angle = (seed * Math.PI) / 3.3;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = ((x - width / 2) * Math.cos(angle) + (y - height / 2) * Math.sin(angle)) / width + 0.5;
      const inBlock = Math.abs(x - ((seed * 23) % width)) < 12 && Math.abs(y - ((seed * 17) % height)) < 10;
      const i = (y * width + x) * 3;
      pixels[i] = inBlock ? 20 : Math.round(255 * t) & 255;
      pixels[i + 1] = inBlock ? 20 : (seed * 40 + Math.round(128 * (1 - t))) & 255;
      pixels[i + 2] = inBlock ? 20 : (seed * 90) & 255;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** A folder of captioned images plus `broken.jpg` (not an image) with a caption. */
export async function writeCaptionedFolder(dir: string, count = SUBJECTS.length): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const captions: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `photo-${i + 1}`;
    await writeFile(join(dir, `${name}.png`), await gradientPng(i + 1));
    await writeFile(join(dir, `${name}.txt`), SUBJECTS[i % SUBJECTS.length]);
    captions.push(SUBJECTS[i % SUBJECTS.length]);
  }
  await writeFile(join(dir, 'broken.jpg'), 'this is text, not a JPEG');
  await writeFile(join(dir, 'broken.txt'), 'a picture that will not decode');
  return captions;
}
