// @mmit/media: decoding and normalising untrusted images and audio for corpora.
// Images through sharp (format sniffing, bomb limits, EXIF orientation, sRGB, bounded size, pHash,
// thumbnails); audio through our WAV reader and WASM decoders, to 16 kHz mono float PCM.

export { type DecodedAudioWithFormat, decodeAudio } from './audio/decode.js';
export {
  DEFAULT_MAX_DURATION_SEC,
  type NormalizeAudioOptions,
  type NormalizedAudio,
  normalizeAudio,
  TARGET_SAMPLE_RATE,
} from './audio/normalize.js';
export { downmix, type ResamplerDesign, resample } from './audio/resample.js';
export type { DecodedAudio } from './audio/types.js';
export { decodeWav, encodeWav, type WavSampleFormat } from './audio/wav.js';
export {
  AudioTooLongError,
  DecodeFailedError,
  EmptyFileError,
  ImageTooLargeError,
  MediaError,
  type MediaErrorCode,
  UnsupportedMediaTypeError,
} from './errors.js';
export { sha256Hex } from './hash.js';
export {
  DEFAULT_MAX_INPUT_PIXELS,
  type DecodedImage,
  type DecodeLimits,
  decodeImage,
  type RawImage,
} from './image/decode.js';
export {
  DEFAULT_JPEG_QUALITY,
  DEFAULT_MAX_SIDE,
  type NormalizedImage,
  type NormalizeImageOptions,
  normalizeImage,
} from './image/normalize.js';
export {
  DEFAULT_NEAR_DUPLICATE_DISTANCE,
  hammingDistance,
  isNearDuplicate,
  perceptualHash,
  phashFromGrey32,
  phashFromRaw,
} from './image/phash.js';
export { configureImagePipeline, type ImagePipelineSettings } from './image/pipeline.js';
export {
  DEFAULT_THUMBNAIL_SIDE,
  encodeThumbnail,
  makeThumbnail,
  type Thumbnail,
  type ThumbnailOptions,
} from './image/thumbnail.js';
export {
  extensionMatches,
  extensionOf,
  type FormatInfo,
  formatInfo,
  type MediaFormat,
  type MediaKind,
  sniffFormat,
  supportedFormats,
} from './sniff.js';
export {
  type Beep,
  type BeepClip,
  beepCaptions,
  COLOURS,
  type Colour,
  createRng,
  generateSampleCorpus,
  PITCHES,
  type Pitch,
  type PlacedShape,
  pick,
  type RenderOptions,
  randomBeepClip,
  randomScene,
  renderBeepClip,
  renderScene,
  type SampleCorpusOptions,
  type SampleFile,
  type Scene,
  SHAPES,
  type Shape,
  sceneCaptions,
  sceneSvg,
  shuffled,
} from './synthetic.js';
