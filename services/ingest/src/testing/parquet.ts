// Parquet files for tests, written with hyparquet-writer in the Hub's layout: an Image/Audio
// struct column {bytes, path} (or {array, sampling_rate}), string caption columns, and the
// `huggingface` key-value metadata naming the features, as `datasets` writes it.
import { gzipSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';

type Column = { name: string; type: 'image' | 'audio-bytes' | 'audio-array' | 'string' | 'int' | 'binary' };

const element = (name: string, type: string, extra: Record<string, unknown> = {}) => ({
  name,
  type,
  repetition_type: 'OPTIONAL',
  ...extra,
});

/** A Parquet file of `rows` (objects keyed by column name) with the given column layout. */
export function makeParquet(
  columns: Column[],
  rows: Record<string, unknown>[],
  options: { rowGroupSize?: number; codec?: 'SNAPPY' | 'GZIP' | 'UNCOMPRESSED'; hfFeatures?: boolean } = {},
): Buffer {
  const schema: Record<string, unknown>[] = [{ name: 'schema', num_children: columns.length }];
  const features: Record<string, unknown> = {};
  for (const { name, type } of columns) {
    if (type === 'image' || type === 'audio-bytes') {
      schema.push({ name, repetition_type: 'OPTIONAL', num_children: 2 });
      schema.push(element('bytes', 'BYTE_ARRAY'), element('path', 'BYTE_ARRAY', { converted_type: 'UTF8' }));
      features[name] = { _type: type === 'image' ? 'Image' : 'Audio' };
    } else if (type === 'audio-array') {
      schema.push({ name, repetition_type: 'OPTIONAL', num_children: 2 });
      schema.push({ name: 'array', repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST' });
      schema.push({ name: 'list', repetition_type: 'REPEATED', num_children: 1 });
      schema.push(element('element', 'DOUBLE'));
      schema.push(element('sampling_rate', 'INT64'));
      features[name] = { _type: 'Audio' };
    } else if (type === 'string') {
      schema.push(element(name, 'BYTE_ARRAY', { converted_type: 'UTF8' }));
      features[name] = { dtype: 'string', _type: 'Value' };
    } else if (type === 'int') {
      schema.push(element(name, 'INT64'));
    } else {
      schema.push(element(name, 'BYTE_ARRAY'));
    }
  }
  const buffer = parquetWriteBuffer({
    // biome-ignore lint/suspicious/noExplicitAny: hyparquet-writer's SchemaElement, built loosely above
    schema: schema as any,
    columnData: columns.map(({ name }) => ({ name, data: rows.map((r) => r[name] ?? null) })),
    codec: options.codec ?? 'SNAPPY',
    compressors: { GZIP: (bytes: Uint8Array) => gzipSync(bytes) },
    rowGroupSize: options.rowGroupSize ?? 1000,
    ...(options.hfFeatures === false
      ? {}
      : { kvMetadata: [{ key: 'huggingface', value: JSON.stringify({ info: { features } }) }] }),
  });
  return Buffer.from(buffer);
}
