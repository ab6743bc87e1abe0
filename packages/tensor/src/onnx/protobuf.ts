// A minimal protobuf wire-format writer: enough for ONNX's ModelProto. Messages are kept as lists
// of byte chunks plus their total length, so nested messages are framed without copying their
// contents and a multi-gigabyte raw_data payload is only referenced, never concatenated, until the
// caller writes the chunks out. Only encoding; ONNX files are read by onnxruntime, not by us.

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

const textEncoder = new TextEncoder();

export class ProtoMessage {
  readonly chunks: Uint8Array[] = [];
  private flushedLength = 0;
  /** Small fields collect here and become one chunk when a large payload or the end comes. */
  private scratch: number[] = [];

  get byteLength(): number {
    return this.flushedLength + this.scratch.length;
  }

  /** int32/int64/uint64/enum/bool fields; negative numbers take ten bytes as protobuf requires. */
  varint(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.pushVarint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    return this.raw(bytes);
  }

  double(field: number, value: number): this {
    this.tag(field, WIRE_FIXED64);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    return this.raw(bytes);
  }

  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_BYTES);
    this.pushVarint(value.byteLength);
    return this.raw(value);
  }

  message(field: number, message: ProtoMessage): this {
    this.tag(field, WIRE_BYTES);
    message.flush();
    this.pushVarint(message.byteLength);
    this.flush();
    for (const c of message.chunks) this.chunks.push(c);
    this.flushedLength += message.byteLength;
    return this;
  }

  /** Concatenates the chunks (for models small enough to hold in one buffer). */
  toBytes(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.byteLength);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }

  finish(): this {
    this.flush();
    return this;
  }

  private tag(field: number, wire: number): void {
    this.pushVarint(field * 8 + wire);
  }

  private pushVarint(value: number | bigint): void {
    if (typeof value === 'number' && value >= 0 && Number.isSafeInteger(value)) {
      let v = value;
      while (v >= 0x80) {
        this.scratch.push((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
      }
      this.scratch.push(v);
    } else {
      // Two's complement over 64 bits for negatives, as int64 fields expect.
      let v = BigInt.asUintN(64, BigInt(value));
      while (v >= 0x80n) {
        this.scratch.push(Number(v & 0x7fn) | 0x80);
        v >>= 7n;
      }
      this.scratch.push(Number(v));
    }
  }

  private raw(bytes: Uint8Array): this {
    if (bytes.byteLength < 64) {
      for (const b of bytes) this.scratch.push(b);
      return this;
    }
    this.flush();
    this.chunks.push(bytes);
    this.flushedLength += bytes.byteLength;
    return this;
  }

  private flush(): void {
    if (this.scratch.length === 0) return;
    const bytes = Uint8Array.from(this.scratch);
    this.scratch = [];
    this.chunks.push(bytes);
    this.flushedLength += bytes.byteLength;
  }
}
