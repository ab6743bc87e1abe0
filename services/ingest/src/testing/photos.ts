// Photo-like JPEGs for benchmarks: a smooth gradient under gaussian noise, so the encoder and
// decoder have real detail to work through (flat synthetic images decode unrealistically fast).
import sharp from 'sharp';

export async function photoLikeJpeg(
  seed: number,
  width = 1600,
  height = 1200,
  quality = 88,
): Promise<Buffer> {
  const noise = await sharp({
    create: {
      width: Math.ceil(width / 4),
      height: Math.ceil(height / 4),
      channels: 3,
      background: { r: 128, g: 128, b: 128 },
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  })
    .resize(width, height, { kernel: 'cubic' })
    .png()
    .toBuffer();
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><radialGradient id="g"><stop offset="0" stop-color="hsl(${(seed * 37) % 360},70%,60%)"/>
    <stop offset="1" stop-color="hsl(${(seed * 37 + 140) % 360},60%,25%)"/></radialGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/></svg>`;
  return sharp(Buffer.from(svg))
    .composite([{ input: noise, blend: 'soft-light' }])
    .jpeg({ quality })
    .toBuffer();
}
