import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { CorpusManifestSchema, CreateCorpusRequestSchema } from './corpus.js';
import { CorpusId } from './ids.js';
import { ItemRecordSchema } from './item.js';
import { DuplicateRouteError, OpenApiRegistry } from './openapi.js';
import { PageQuerySchema, pageOf } from './pagination.js';

function registry() {
  return new OpenApiRegistry()
    .add({
      method: 'post',
      path: '/corpora',
      summary: 'Create a corpus',
      request: { body: CreateCorpusRequestSchema },
      responses: { 201: { description: 'Created', schema: CorpusManifestSchema } },
    })
    .add({
      method: 'get',
      path: '/corpora/:corpusId/items',
      summary: 'List items',
      request: { params: z.object({ corpusId: CorpusId }), query: PageQuerySchema },
      responses: { 200: { description: 'A page of items', schema: pageOf(ItemRecordSchema) } },
    })
    .add({
      method: 'get',
      path: '/healthz',
      summary: 'Liveness',
      responses: { 200: { description: 'ok' } },
      secured: false,
    });
}

/** Every `$ref` in the document must point at a component that exists. */
function danglingRefs(doc: unknown): string[] {
  const out: string[] = [];
  const schemas = (doc as { components: { schemas: Record<string, unknown> } }).components.schemas;
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, val] of Object.entries(v)) {
        if (k === '$ref' && typeof val === 'string') {
          const name = val.replace('#/components/schemas/', '');
          if (!(name in schemas)) out.push(val);
        } else walk(val);
      }
    }
  };
  walk(doc);
  return out;
}

test('the document has OpenAPI paths with path parameters in braces', () => {
  const doc = registry().document({ title: 'ingest', version: '0.1.0' });
  assert.equal(doc.openapi, '3.1.0');
  assert.deepEqual(Object.keys(doc.paths).sort(), ['/corpora', '/corpora/{corpusId}/items', '/healthz']);
  const list = doc.paths['/corpora/{corpusId}/items'].get as {
    parameters: { name: string; in: string; required: boolean }[];
  };
  assert.deepEqual(
    list.parameters.map((p) => [p.name, p.in, p.required]),
    [
      ['corpusId', 'path', true],
      ['cursor', 'query', false],
      ['limit', 'query', false],
    ],
  );
  assert.deepEqual((doc.paths['/healthz'].get as { security: unknown[] }).security, []);
});

test('schemas with ids become components, and every ref resolves', () => {
  const doc = registry().document({ title: 'ingest', version: '0.1.0' });
  const schemas = doc.components.schemas;
  for (const name of ['CorpusManifest', 'CorpusOptions', 'ItemRecord', 'Problem'])
    assert.ok(name in schemas, name);
  assert.deepEqual(danglingRefs(doc), []);
  const created = doc.paths['/corpora'].post as {
    responses: Record<string, { content: Record<string, { schema: { $ref: string } }> }>;
  };
  assert.equal(
    created.responses['201'].content['application/json'].schema.$ref,
    '#/components/schemas/CorpusManifest',
  );
  assert.ok('application/problem+json' in created.responses.default.content);
});

test('request bodies use the input view: defaulted fields are not required', () => {
  const doc = registry().document({ title: 'ingest', version: '0.1.0' });
  const input = doc.components.schemas.CreateCorpusRequest as { required?: string[] };
  assert.deepEqual(input.required, ['name']);
  // CorpusOptions appears in both views; the output view keeps the plain name.
  const output = doc.components.schemas.CorpusOptions as { required?: string[] };
  assert.ok(output.required?.includes('maxSide'));
  const inputOptions = doc.components.schemas.CorpusOptionsInput as { required?: string[] };
  assert.equal(inputOptions.required, undefined);
});

test('a route registered twice is refused', () => {
  assert.throws(
    () => registry().add({ method: 'post', path: '/corpora', summary: 'again', responses: {} }),
    DuplicateRouteError,
  );
});
