// The generated reference docs (OpenAPI per service, configuration table, the tensor README's
// list of gradient rules) match the code: a route, variable or rule added without `pnpm docs`
// fails here with the file that is out of date.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderDocs } from '../scripts/gen-docs.js';
import { repoRoot } from './paths.js';

test("docs/api, docs/configuration.md and the tensor README's rule list are current (run `pnpm docs` to update)", async () => {
  for (const [path, expected] of Object.entries(renderDocs())) {
    const actual = await readFile(join(repoRoot, path), 'utf8').catch(() => '(missing)');
    assert.equal(actual, expected, `${path} is out of date: run \`pnpm docs\``);
  }
});

test("serve's OpenAPI document lists its OpenAI routes (declared through service.route)", () => {
  const serve = JSON.parse(renderDocs()['docs/api/serve.openapi.json']) as { paths: Record<string, object> };
  for (const path of ['/v1/models', '/v1/models/{id}', '/v1/chat/completions', '/v1/completions']) {
    assert.ok(path in serve.paths, `${path} is missing from serve's OpenAPI`);
  }
});

test('no generated doc shows a value JavaScript could not write ([object Object], undefined, NaN)', () => {
  for (const [path, text] of Object.entries(renderDocs())) {
    for (const bad of ['[object Object]', '`undefined`', '`NaN`']) {
      assert.ok(!text.includes(bad), `${path} shows ${bad}`);
    }
  }
});
