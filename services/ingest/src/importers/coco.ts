// COCO annotation JSON: `images` (id, file_name, width, height) joined with `annotations`.
// Caption annotations (`caption`) become captions; instance annotations (`bbox` in pixels,
// `[x, y, w, h]`) become boxes normalised to 0..1 by the image size, with category names from
// `categories`. Several files (captions_*.json + instances_*.json) are merged by image id.
// Limit: each JSON file is parsed whole.
import { decodeUtf8 } from './captions.js';
import { attempt, manifestSelector, manifestsOf, PathResolver } from './manifest.js';
import { mediaKindOf } from './media-kinds.js';
import { emitPlan, type PlannedItem, scanTree } from './plan.js';
import type { FileTree } from './trees/types.js';
import { EntryError, type ImportItem, type ImportOptions, SourceError } from './types.js';

export interface CocoBox {
  /** [x, y, width, height] as fractions of the image size. */
  bbox: [number, number, number, number];
  category?: string;
  categoryId?: number;
}

interface CocoImage {
  id: number;
  file_name: string;
  width?: number;
  height?: number;
  manifest: string;
  captions: string[];
  boxes: CocoBox[];
}

type Json = Record<string, unknown>;
/** The objects of a JSON array (anything else in it, `null` included, is not an image or annotation). */
const list = (value: unknown): Json[] =>
  Array.isArray(value)
    ? value.filter((v): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v))
    : [];

function normalisedBox(bbox: unknown, image: CocoImage): CocoBox['bbox'] {
  const { width, height } = image;
  if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((v) => typeof v === 'number')) {
    throw new EntryError('invalid_record', `image ${image.id}: bbox must be four numbers`);
  }
  if (!width || !height)
    throw new EntryError('invalid_record', `image ${image.id}: boxes need the image width and height`);
  const [x, y, w, h] = bbox as number[];
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  return [clamp(x / width), clamp(y / height), clamp(w / width), clamp(h / height)];
}

export async function* importCoco(tree: FileTree, options: ImportOptions = {}): AsyncGenerator<ImportItem> {
  const scan = await scanTree(tree, manifestSelector(['json'], options.manifest));
  const resolver = new PathResolver(scan, options.mediaRoot);
  const images = new Map<number, CocoImage>();
  const categories = new Map<number, string>();
  const annotationSets: { manifest: string; annotations: Json[] }[] = [];

  for (const manifest of manifestsOf(scan, tree.label, ['json'], options.manifest)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(decodeUtf8(manifest.bytes, manifest.path));
    } catch (err) {
      throw new SourceError(`${tree.label}: ${manifest.path} is not COCO JSON: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null) continue; // not a COCO file
    const doc = parsed as Json;
    if (!Array.isArray(doc.images) && !Array.isArray(doc.annotations)) continue; // not a COCO file
    for (const image of list(doc.images)) {
      if (typeof image.id !== 'number' || typeof image.file_name !== 'string') continue;
      if (images.has(image.id)) continue;
      images.set(image.id, {
        id: image.id,
        file_name: image.file_name,
        width: typeof image.width === 'number' ? image.width : undefined,
        height: typeof image.height === 'number' ? image.height : undefined,
        manifest: manifest.path,
        captions: [],
        boxes: [],
      });
    }
    for (const category of list(doc.categories)) {
      if (typeof category.id === 'number' && typeof category.name === 'string')
        categories.set(category.id, category.name);
    }
    annotationSets.push({ manifest: manifest.path, annotations: list(doc.annotations) });
  }
  if (images.size === 0)
    throw new SourceError(`${tree.label}: no COCO 'images' list found in the JSON files`);

  const errors = new Map<number, EntryError>();
  for (const { annotations } of annotationSets) {
    for (const annotation of annotations) {
      const image = typeof annotation.image_id === 'number' ? images.get(annotation.image_id) : undefined;
      if (!image) continue;
      try {
        if (typeof annotation.caption === 'string') {
          const caption = annotation.caption.trim();
          if (caption) image.captions.push(caption);
        }
        if (annotation.bbox !== undefined) {
          const categoryId = typeof annotation.category_id === 'number' ? annotation.category_id : undefined;
          image.boxes.push({
            bbox: normalisedBox(annotation.bbox, image),
            ...(categoryId !== undefined ? { categoryId, category: categories.get(categoryId) } : {}),
          });
        }
      } catch (err) {
        if (!(err instanceof EntryError)) throw err;
        errors.set(image.id, err);
      }
    }
  }

  const plan = [...images.values()].map((image) =>
    attempt<PlannedItem>(
      () => {
        const error = errors.get(image.id);
        if (error) throw error;
        return {
          path: resolver.resolve(image.file_name, image.manifest),
          source: image.file_name,
          kind: mediaKindOf(image.file_name) ?? 'image',
          captions: image.captions,
          meta: { cocoId: image.id, ...(image.boxes.length > 0 ? { boxes: image.boxes } : {}) },
        };
      },
      (error) => ({ source: image.file_name, kind: 'image', captions: [], error }),
    ),
  );
  yield* emitPlan(tree, plan, options);
}
