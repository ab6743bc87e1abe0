// TensorBoard event files, written and read without TensorFlow. A file is a sequence of TFRecords
// (u64 length, masked crc32c of the length, the data, masked crc32c of the data; little-endian),
// each holding one `Event` protobuf. Only the fields a scalar log needs are encoded (field numbers
// from tensorflow/core/util/event.proto and framework/summary.proto):
//   Event      { double wall_time = 1; int64 step = 2; string file_version = 3;
//                Summary summary = 5; SessionLog session_log = 7; }
//   Summary    { repeated Value value = 1; }  Value { string tag = 1; float simple_value = 2; }
//   SessionLog { SessionStatus status = 1; }  (START = 1)
// The first record is `file_version: "brain.Event:2"`. A resumed attempt starts its own file with a
// SessionLog START at the first step it logs: TensorBoard then discards what earlier files logged
// at or after that step (work lost with the attempt), which is what `readScalars` does too.

export const FILE_VERSION = 'brain.Event:2';
const SESSION_START = 1;

// --- crc32c (Castagnoli), as TFRecord masks it -----------------------------------------------

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC32C_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's mask: rotate right by 15, add a constant (so CRCs of CRCs do not look like data). */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

export function tfRecord(data: Uint8Array): Buffer {
  const header = Buffer.alloc(12);
  header.writeBigUInt64LE(BigInt(data.length), 0);
  header.writeUInt32LE(maskedCrc32c(header.subarray(0, 8)), 8);
  const footer = Buffer.alloc(4);
  footer.writeUInt32LE(maskedCrc32c(data), 0);
  return Buffer.concat([header, data, footer]);
}

// --- the protobuf subset ---------------------------------------------------------------------

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  // Steps are below 2^53: division keeps them exact where bit operations would cut at 32 bits.
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

const key = (field: number, wire: number) => varint(field * 8 + wire);

function lengthDelimited(field: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([...key(field, 2), ...varint(bytes.length)]), bytes]);
}

function double(field: number, value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(value, 0);
  return Buffer.concat([Buffer.from(key(field, 1)), b]);
}

function float(field: number, value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeFloatLE(value, 0);
  return Buffer.concat([Buffer.from(key(field, 5)), b]);
}

const uint = (field: number, value: number) => Buffer.from([...key(field, 0), ...varint(value)]);

function event(wallTime: number, step: number, what: Buffer): Buffer {
  return Buffer.concat([double(1, wallTime), uint(2, step), what]);
}

export function fileVersionEvent(wallTime: number): Buffer {
  return event(wallTime, 0, lengthDelimited(3, Buffer.from(FILE_VERSION)));
}

export function sessionStartEvent(wallTime: number, step: number): Buffer {
  return event(wallTime, step, lengthDelimited(7, uint(1, SESSION_START)));
}

export function scalarsEvent(wallTime: number, step: number, scalars: Record<string, number>): Buffer {
  const values = Object.entries(scalars).map(([tag, v]) =>
    lengthDelimited(1, Buffer.concat([lengthDelimited(1, Buffer.from(tag)), float(2, v)])),
  );
  return event(wallTime, step, lengthDelimited(5, Buffer.concat(values)));
}

// --- reading ---------------------------------------------------------------------------------

export interface TfEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  sessionStart?: boolean;
  scalars?: Record<string, number>;
}

export class EventFileError extends Error {
  override name = 'EventFileError';
}

/** Fields of one message: number -> values (varints as numbers, fixed as their bytes, nested as bytes). */
function fields(bytes: Uint8Array): Map<number, (number | Buffer)[]> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<number, (number | Buffer)[]>();
  let at = 0;
  const readVarint = () => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (at >= buf.length) throw new EventFileError('a varint runs past the end of its message');
      const byte = buf[at++];
      value += (byte & 0x7f) * scale;
      scale *= 0x80;
      if (byte < 0x80) return value;
    }
  };
  while (at < buf.length) {
    const tag = readVarint();
    const [field, wire] = [Math.floor(tag / 8), tag % 8];
    let value: number | Buffer;
    if (wire === 0) value = readVarint();
    else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      value = buf.subarray(at, at + size);
      at += size;
    } else if (wire === 2) {
      const size = readVarint();
      value = buf.subarray(at, at + size);
      at += size;
    } else throw new EventFileError(`wire type ${wire} (field ${field}) is not one an event file uses`);
    if (at > buf.length) throw new EventFileError(`field ${field} runs past the end of its message`);
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}

function parseEvent(bytes: Uint8Array): TfEvent {
  const f = fields(bytes);
  const wall = f.get(1)?.[0];
  const parsed: TfEvent = {
    wallTime: wall instanceof Buffer ? wall.readDoubleLE(0) : 0,
    step: (f.get(2)?.[0] as number | undefined) ?? 0,
  };
  const version = f.get(3)?.[0];
  if (version instanceof Buffer) parsed.fileVersion = version.toString('utf8');
  const session = f.get(7)?.[0];
  if (session instanceof Buffer) parsed.sessionStart = fields(session).get(1)?.[0] === SESSION_START;
  const summary = f.get(5)?.[0];
  if (summary instanceof Buffer) {
    parsed.scalars = {};
    for (const value of fields(summary).get(1) ?? []) {
      const v = fields(value as Buffer);
      const tag = v.get(1)?.[0];
      const simple = v.get(2)?.[0];
      if (tag instanceof Buffer && simple instanceof Buffer)
        parsed.scalars[tag.toString('utf8')] = simple.readFloatLE(0);
    }
  }
  return parsed;
}

/** Every event of a file, each record's checksums verified. */
export function readEventFile(bytes: Uint8Array): TfEvent[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const events: TfEvent[] = [];
  let at = 0;
  while (at < buf.length) {
    if (at + 12 > buf.length) throw new EventFileError(`a record header is cut at byte ${at}`);
    const length = Number(buf.readBigUInt64LE(at));
    if (buf.readUInt32LE(at + 8) !== maskedCrc32c(buf.subarray(at, at + 8)))
      throw new EventFileError(`the length checksum of the record at byte ${at} does not match`);
    const data = buf.subarray(at + 12, at + 12 + length);
    if (at + 16 + length > buf.length) throw new EventFileError(`the record at byte ${at} is cut`);
    if (buf.readUInt32LE(at + 12 + length) !== maskedCrc32c(data))
      throw new EventFileError(`the data checksum of the record at byte ${at} does not match`);
    events.push(parseEvent(data));
    at += 16 + length;
  }
  return events;
}

/**
 * The scalars of a run's event files (in name order, as TensorBoard reads a folder), by tag, as
 * (step, value, wall time) rows sorted by step. A session start at step s drops what earlier
 * files logged at steps >= s, so a resumed run shows each step once, from the attempt that kept it.
 */
export function readScalars(
  files: Uint8Array[],
): Record<string, { step: number; value: number; wallTime: number }[]> {
  const byTag: Record<string, { step: number; value: number; wallTime: number }[]> = {};
  for (const file of files) {
    for (const e of readEventFile(file)) {
      if (e.sessionStart) {
        for (const tag of Object.keys(byTag)) byTag[tag] = byTag[tag].filter((r) => r.step < e.step);
      }
      for (const [tag, value] of Object.entries(e.scalars ?? {})) {
        byTag[tag] ??= [];
        byTag[tag].push({ step: e.step, value, wallTime: e.wallTime });
      }
    }
  }
  for (const rows of Object.values(byTag)) rows.sort((a, b) => a.step - b.step);
  return byTag;
}
