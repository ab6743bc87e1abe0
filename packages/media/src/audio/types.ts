// The decoded form every audio decoder in this package returns.

export interface DecodedAudio {
  sampleRate: number;
  channels: number;
  durationSec: number;
  /** One Float32Array per channel, samples in [-1, 1]. */
  channelData: Float32Array[];
}
