// Property tests (fast-check) over the importers' parsers: whatever bytes a manifest, caption
// sidecar or CSV holds, an importer yields entries and per-entry failures, or throws a typed
// SourceError (the service answers it as a failed import naming the file), never a TypeError or
// RangeError from inside a parser. Plus the parsers' own laws: CSV fields round-trip through
// RFC 4180 quoting, and safeRelativePath only ever returns paths that stay inside their root.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { collect } from '../testing/collect.js';
import { csvFields, csvRecords } from './csv.js';
import { importEntries } from './index.js';
import { byteLines } from './jsonl.js';
import { safeRelativePath } from './safe-path.js';
import type { FileTree, TreeFile } from './trees/types.js';
import { EntryError, SourceError } from './types.js';

const RUNS = Number(process.env.MMIT_PROPERTY_RUNS ?? 200);

/** An in-memory tree (random access, like a folder or zip). */
function memoryTree(files: Record<string, Buffer>): FileTree {
  const file = (path: string): TreeFile => ({
    kind: 'file',
    path,
    size: files[path].length,
    read: async () => files[path],
  });
  return {
    label: 'memory',
    async *entries() {
      for (const path of Object.keys(files).sort()) yield file(path);
    },
    open: async (path) => (Object.hasOwn(files, path) ? file(path) : undefined),
  };
}

/** Drains an importer; the only errors allowed out are the typed ones. */
async function importsOrRefuses(format: string, files: Record<string, Buffer>): Promise<void> {
  try {
    await collect(importEntries(format, memoryTree(files)));
  } catch (err) {
    assert.ok(
      err instanceof SourceError || err instanceof EntryError,
      `${format} threw ${(err as Error).name}: ${(err as Error).message}`,
    );
  }
}

const IMAGE = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16]);

/** Text that is often almost right: JSON values, strings, deep nesting, invalid UTF-8. */
const textish = fc.oneof(
  fc.json(),
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.integer({ min: 1, max: 20_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 1, max: 20_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  fc.constantFrom(
    'null',
    'true',
    '7',
    '"x"',
    '[]',
    '{}',
    '[null]',
    '{"images": null}',
    '{"annotations": [null]}',
  ),
);
const bytesOf = (parts: fc.Arbitrary<string>) => parts.map((t) => Buffer.from(t, 'utf8'));
const rawBytes = fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b));
const manifestBytes = fc.oneof(bytesOf(textish), rawBytes);

/** JSON records with the fields importers look at, holding values of any type. */
const anyValue = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom('a.jpg', '../a.jpg', '/etc/passwd', '', 'a.jpg\u0000'),
);
const record = fc.record(
  {
    image: anyValue,
    audio: anyValue,
    caption: anyValue,
    captions: anyValue,
    text: anyValue,
    id: anyValue,
    file_name: anyValue,
    image_id: anyValue,
    bbox: anyValue,
    category_id: anyValue,
    conversations: fc.oneof(
      anyValue,
      fc.array(fc.record({ from: anyValue, value: anyValue }, { requiredKeys: [] })),
    ),
  },
  { requiredKeys: [] },
);

test('jsonl: any manifest bytes import or fail per line, never crash the importer', async () => {
  const lines = fc.array(
    fc.oneof(
      textish,
      record.map((r) => JSON.stringify(r)),
    ),
    { maxLength: 20 },
  );
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        lines.map((l) => Buffer.from(l.join('\n'))),
        rawBytes,
      ),
      (manifest) => importsOrRefuses('jsonl', { 'a.jpg': IMAGE, 'm.jsonl': manifest }),
    ),
    { numRuns: RUNS },
  );
});

test('llava-json and coco: any JSON document imports or is refused as a whole with SourceError', async () => {
  const doc = fc.oneof(
    manifestBytes,
    fc.array(record).map((r) => Buffer.from(JSON.stringify(r))),
    fc
      .record(
        {
          images: fc.oneof(anyValue, fc.array(record)),
          annotations: fc.oneof(anyValue, fc.array(record)),
          categories: anyValue,
        },
        { requiredKeys: [] },
      )
      .map((d) => Buffer.from(JSON.stringify(d))),
  );
  await fc.assert(
    fc.asyncProperty(doc, async (manifest) => {
      await importsOrRefuses('llava-json', { 'a.jpg': IMAGE, 'data.json': manifest });
      await importsOrRefuses('coco', { 'a.jpg': IMAGE, 'ann.json': manifest });
    }),
    { numRuns: RUNS },
  );
});

test('csv: any CSV bytes, with any column options, import or are refused with SourceError', async () => {
  const cell = fc.oneof(
    fc.string(),
    fc.constantFrom('a.wav', 'file_name', 'caption_1', 'youtube_id', 'caption', '"', '""', '\r\n'),
  );
  const csv = fc
    .array(fc.array(cell, { maxLength: 6 }), { maxLength: 12 })
    .map((rows) => Buffer.from(rows.map((r) => r.join(',')).join('\n')));
  const options = fc.option(
    fc.record({
      fileColumn: fc.option(cell, { nil: undefined }),
      captionColumns: fc.option(fc.array(cell), { nil: undefined }),
    }),
    { nil: undefined },
  );
  await fc.assert(
    fc.asyncProperty(fc.oneof(csv, manifestBytes), options, async (manifest, csvOptions) => {
      try {
        await collect(
          importEntries(
            'csv',
            memoryTree({ 'a.wav': IMAGE, 'm.csv': manifest }),
            csvOptions ? { csv: csvOptions } : {},
          ),
        );
      } catch (err) {
        assert.ok(
          err instanceof SourceError || err instanceof EntryError,
          `csv threw ${(err as Error).name}: ${(err as Error).message}`,
        );
      }
    }),
    { numRuns: RUNS },
  );
});

test('sidecars and webdataset: any caption or JSON sidecar bytes fail only their own item', async () => {
  await fc.assert(
    fc.asyncProperty(manifestBytes, manifestBytes, async (txt, json) => {
      const files = { 'k.jpg': IMAGE, 'k.txt': txt, 'k.json': json };
      for (const format of ['folder', 'webdataset']) {
        const items = await collect(importEntries(format, memoryTree(files)));
        assert.equal(items.length, 1, `${format}: one item for one image`);
      }
    }),
    { numRuns: RUNS },
  );
});

test('csvFields: fields quoted the RFC 4180 way come back unchanged', () => {
  fc.assert(
    fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 8 }), (fields) => {
      const line = fields.map((f) => `"${f.replaceAll('"', '""')}"`).join(',');
      assert.deepEqual(csvFields(line), fields);
      // And the record splitter keeps a quoted newline inside its record.
      const records = [...csvRecords(Buffer.from(`${line}\nnext`))];
      assert.equal(records.at(-1)?.bytes.toString(), 'next');
    }),
    { numRuns: RUNS },
  );
});

test('byteLines: every non-blank line comes back, numbered, without its line ending', () => {
  const line = fc.string({ unit: 'binary-ascii' }).filter((l) => !/[\r\n]/.test(l));
  fc.assert(
    fc.property(fc.array(line, { maxLength: 20 }), fc.boolean(), (lines, crlf) => {
      const got = [...byteLines(Buffer.from(lines.join(crlf ? '\r\n' : '\n'), 'latin1'))];
      const wanted = lines
        .map((text, i) => ({ line: i + 1, text }))
        .filter(({ text }) => /[^ \t]/.test(text));
      assert.deepEqual(
        got.map((g) => ({ line: g.line, text: g.bytes.toString('latin1') })),
        wanted,
      );
    }),
    { numRuns: RUNS },
  );
});

test('safeRelativePath: any name is refused as unsafe_path or comes back inside its root', () => {
  const segment = fc.oneof(
    fc.string(),
    fc.constantFrom('..', '.', '', '\\', 'C:', '\u0000', '%2e%2e', '\uff0e\uff0e'),
  );
  const name = fc.oneof(
    fc.string(),
    fc.array(segment, { maxLength: 6 }).map((s) => s.join('/')),
    fc.array(segment, { maxLength: 6 }).map((s) => s.join('\\')),
  );
  fc.assert(
    fc.property(name, (raw) => {
      let path: string;
      try {
        path = safeRelativePath(raw);
      } catch (err) {
        assert.ok(err instanceof EntryError && err.code === 'unsafe_path', String(err));
        return;
      }
      assert.ok(!path.startsWith('/') && !/^[A-Za-z]:/.test(path), path);
      assert.ok(!path.includes('\\') && !path.includes('\u0000'), path);
      assert.ok(!path.split('/').some((p) => p === '..' || p === '.' || p === ''), path);
    }),
    { numRuns: RUNS * 5 },
  );
});
