// Process-wide sharp (libvips) settings for a service that normalises many images. Nothing is changed on
// import: the service calls this once at start-up.
// Why these defaults: every image is seen once, so libvips' operation cache only holds memory; and a service
// already runs several images at once on libuv's thread pool, so one libvips thread per image avoids
// oversubscribing the cores (on glibc sharp already defaults to 1 for fragmentation reasons).
import sharp from 'sharp';

export interface ImagePipelineSettings {
  /** libvips worker threads per image. Default 1. */
  concurrency?: number;
  /** Keep libvips' operation cache. Default false. */
  cache?: boolean;
}

export function configureImagePipeline(settings: ImagePipelineSettings = {}): { concurrency: number } {
  sharp.cache(settings.cache ?? false);
  return { concurrency: sharp.concurrency(settings.concurrency ?? 1) };
}
