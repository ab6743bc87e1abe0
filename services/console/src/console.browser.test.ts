// The console in headless Chromium against the real services (see testing/stack.ts): enter the
// API key, upload a folder and an archive into a corpus, make a dataset and browse it, start a
// run from the form and watch its loss chart grow over SSE, cancel and resume another, compare
// runs, read the feature jobs' cache hit rates, and chat with the trained run about an image.
// Then every page is opened again with the CSP in force, and none may log an error or a CSP
// violation. Every page gets an axe-core check (no serious or critical violations), a check that
// nothing was logged as an error, and a screenshot in
// test-artifacts/console/; with MMIT_DOCS_SCREENSHOTS=1 the chosen ones also go to
// docs/screenshots/ for the README.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page, Request } from 'playwright-core';
import { fixture, fixturesDir, repoRoot } from '../../../test/paths.js';
import { makeZip } from '../../ingest/src/testing/archives.js';
import { seriousViolations } from './testing/axe.js';
import { type HeadlessBrowser, launchChromium } from './testing/browser.js';
import { gradientPng, writeCaptionedFolder } from './testing/media.js';
import { STACK_API_KEY, type Stack, startStack } from './testing/stack.js';
import { buildWeb } from './web-build.js';

const artifacts = join(repoRoot, 'test-artifacts', 'console');
const docsScreenshots = join(repoRoot, 'docs', 'screenshots');

let stack: Stack;
let chromium: HeadlessBrowser;
let page: Page;
const pageErrors: string[] = [];
/** Console errors (failed requests, React warnings); the first test's expected 401s are cleared. */
const consoleErrors: string[] = [];
/** Ids shared between the steps, which run in order. */
const ids: { corpus?: string; dataset?: string; trainedRun?: string } = {};

before(async () => {
  // Build from source (and typecheck it), so the page under test is the code under test.
  await buildWeb({ typecheck: true });
  stack = await startStack({ fixturesDir });
  chromium = await launchChromium();
  page = await chromium.context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`${m.text()} (${m.location().url})`);
  });
  await mkdir(artifacts, { recursive: true });
});

after(async () => {
  await chromium?.close();
  await stack?.stop();
});

async function checkPage(name: string, docs = false): Promise<void> {
  const violations = await seriousViolations(page);
  assert.deepEqual(violations, [], `axe found serious or critical problems on ${name}`);
  assert.deepEqual(pageErrors, [], 'the page threw');
  assert.deepEqual(consoleErrors, [], `the console logged errors on ${name}`);
  const file = join(artifacts, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (docs && process.env.MMIT_DOCS_SCREENSHOTS === '1') {
    await mkdir(docsScreenshots, { recursive: true });
    await copyFile(file, join(docsScreenshots, `console-${name}.png`));
  }
}

const go = (path: string) => page.goto(`${stack.consoleUrl}${path}`);

/** Waits for the run page's status badge to read `status`; on timeout says what the page showed. */
async function waitForRunStatus(status: string, timeout: number): Promise<void> {
  try {
    await page.locator('main p .badge', { hasText: status }).waitFor({ timeout });
  } catch (err) {
    const shown = await page.locator('main').innerText();
    const id = page.url().split('/').pop();
    const stored = await fetch(`${stack.services.trainer}/v1/runs/${id}`, {
      headers: { authorization: `Bearer ${STACK_API_KEY}` },
    }).then((r) => r.text());
    throw new Error(
      `the run did not become ${status} in ${timeout} ms; the trainer says ${stored}; the page showed:\n${shown.slice(0, 600)}`,
      { cause: err },
    );
  }
}

test('without the API key the page says so; the key entered once is used from then on', async () => {
  await go('/corpora');
  await page.getByRole('alert').filter({ hasText: 'enter it under “API key”' }).waitFor();
  await page.getByRole('button', { name: 'API key: none' }).click();
  await page.getByLabel('API key (kept for this tab only)').fill(STACK_API_KEY);
  await page.getByRole('button', { name: 'Save key' }).click();
  await page.getByText('No corpora yet').waitFor();
  assert.equal(await page.evaluate('sessionStorage.getItem("mmit.apiKey")'), STACK_API_KEY);
  await page.reload();
  await page.getByText('No corpora yet').waitFor();
  await page.getByRole('button', { name: 'API key: set' }).waitFor();
  // The 401s before the key was entered are logged as failed requests, as they should be.
  consoleErrors.splice(0);
});

test('corpora: upload a folder with caption files, then an archive; thumbnails, captions and the rejection show', async () => {
  const folder = join(stack.dir, 'upload', 'photos');
  const captions = await writeCaptionedFolder(folder);
  await page.getByLabel('Name').fill('Captioned photos');
  await page.getByRole('button', { name: 'Create corpus' }).click();
  await page.waitForURL(/\/corpora\/c_/);
  ids.corpus = page.url().split('/').pop();

  await page.locator('#upload-folder').setInputFiles(folder);
  await page.getByText('7 media files (7 with a caption file)').waitFor();
  await page.getByRole('button', { name: 'Upload 7 files' }).click();
  const outcome = page.getByRole('status').filter({ hasText: 'Uploaded 7 files' });
  await outcome.waitFor();
  assert.match(await outcome.innerText(), /6 accepted, 0 duplicates, 1 rejected/);
  assert.match(await outcome.innerText(), /broken\.jpg: (decode failed|unsupported media type)/);

  // Thumbnails come from ingest's /v1/media route through /api with the key, as blob: URLs.
  await page.waitForFunction(
    `[...document.querySelectorAll('img.thumb')].filter((i) => i.complete && i.naturalWidth > 0).length === 6`,
  );
  assert.equal(await page.getByTestId('item-card').count(), 7);
  for (const caption of captions) await page.getByText(caption, { exact: true }).first().waitFor();
  assert.equal(await page.getByTestId('count-accepted').innerText(), '6');

  await page.getByLabel('Status').selectOption('rejected');
  await page.waitForFunction(`document.querySelectorAll('[data-testid="item-card"]').length === 1`);
  assert.match(
    await page.getByTestId('item-card').innerText(),
    /broken\.jpg[\s\S]*(decode failed|unsupported media type)/,
  );
  await page.getByLabel('Status').selectOption('');

  // An archive: uploaded with progress, then the import job followed over SSE to its summary.
  const zip = join(stack.dir, 'upload', 'more.zip');
  await writeFile(
    zip,
    makeZip([
      // A panorama, far from the grid's 4:3 frame: cropping it would show.
      { name: 'more/harbour.png', data: await gradientPng(11, 160, 60) },
      { name: 'more/harbour.txt', data: 'fishing boats moored in a small harbour' },
      { name: 'more/photo-copy.png', data: await readFile(join(folder, 'photo-1.png')) },
      { name: 'more/photo-copy.txt', data: 'the same kite again' },
    ]),
  );
  await page.getByLabel('An archive').check();
  await page.getByLabel('Archive (.zip, .tar, .tar.gz)').setInputFiles(zip);
  assert.equal(await page.getByLabel('Format').inputValue(), 'zip', 'the format follows the file name');
  await page.getByRole('button', { name: 'Import archive' }).click();
  const summary = page.getByRole('status').filter({ hasText: 'entries:' });
  await summary.waitFor({ timeout: 60_000 });
  assert.match(await summary.innerText(), /2 entries: 1 accepted, 1 duplicates, 0 rejected/);
  await page.waitForFunction(`document.querySelectorAll('[data-testid="item-card"]').length === 9`);
  assert.equal(await page.getByTestId('count-accepted').innerText(), '7');

  // Thumbnails keep the picture's shape: each img's rendered box has its image's aspect ratio.
  await page.waitForFunction(
    `(() => { const imgs = [...document.querySelectorAll('img.thumb')];
      return imgs.length >= 7 && imgs.every((i) => i.complete && i.naturalWidth > 0)
        && !document.querySelector('.thumb.placeholder[aria-label^="Loading"]'); })()`,
  );
  const boxes = (await page.evaluate(`[...document.querySelectorAll('img.thumb')].map((i) => {
    const r = i.getBoundingClientRect();
    return { alt: i.alt, width: r.width, height: r.height, natural: i.naturalWidth / i.naturalHeight };
  })`)) as { alt: string; width: number; height: number; natural: number }[];
  for (const box of boxes) {
    // One pixel of rounding either way in each dimension.
    const tolerance = box.natural * (1 / box.height + 1 / box.width);
    assert.ok(
      Math.abs(box.width / box.height - box.natural) <= tolerance,
      `thumbnail "${box.alt}" is drawn ${box.width}x${box.height}, its image's ratio is ${box.natural}`,
    );
  }
  const harbour = boxes.find((b) => b.alt.includes('harbour'));
  assert.ok(harbour && Math.abs(harbour.natural - 160 / 60) < 0.02, 'the panorama is thumbnailed whole');
  await page.getByLabel('Files or a folder').check();
  await checkPage('corpora', true);
});

test('datasets: make one from the corpus, browse samples by kind, see the diversity charts, export it', async () => {
  await go('/datasets');
  await page.getByLabel('Name (optional)').fill('Photo instructions');
  // Fields the form lacked before: the vqa kind with its plan, and the validation share.
  await page.getByLabel('vqa', { exact: true }).check();
  await page.getByLabel('vqa: samples per item').fill('2');
  await page.getByLabel('Validation share').fill('0.25');
  await page.getByLabel('Seed').fill('5');
  const [post] = await Promise.all([
    page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/v1/datasets')),
    page.getByRole('button', { name: 'Create dataset' }).click(),
  ]);
  assert.deepEqual(post.postDataJSON().recipe, {
    kinds: { brief: {}, detailed: {}, conversation: {}, vqa: { perItem: 2 } },
    seed: 5,
    split: { validation: 0.25 },
  });
  await page.getByRole('button', { name: 'Open dataset' }).click({ timeout: 120_000 });
  await page.waitForURL(/\/datasets\/d_/);
  ids.dataset = page.url().split('/').pop();
  await page.getByText('Most common instruction openings').waitFor();
  const samples = Number(await page.getByTestId('sample-count').innerText());
  assert.ok(samples >= 7, `expected samples for 7 items, got ${samples}`);
  await page.getByRole('tab', { name: 'vqa' }).waitFor();

  // Each sample shows its picture (through ingest's thumbnail route), not the media's bucket key.
  await page.waitForFunction(
    `(() => { const s = [...document.querySelectorAll('[data-testid="sample"]')];
      return s.length > 0 && s.every((x) => { const i = x.querySelector('img.thumb'); return i && i.complete && i.naturalWidth > 0; }); })()`,
  );
  assert.doesNotMatch((await page.locator('ol.samples').textContent()) ?? '', /media\/sha256/);

  await page.getByRole('tab', { name: 'detailed' }).click();
  await page.waitForFunction(
    `(() => { const s = [...document.querySelectorAll('[data-testid="sample"]')];
      return s.length > 0 && s.every((x) => x.querySelector('.chip').textContent === 'detailed'); })()`,
  );
  assert.match(await page.getByTestId('sample').first().innerText(), /User[\s\S]*Assistant/);

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download LLaVA JSON' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), `${ids.dataset}.json`);
  const exported = JSON.parse(await readFile((await download.path())!, 'utf8')) as {
    conversations: unknown[];
  }[];
  assert.equal(exported.length, samples, 'the export holds every sample');
  await page.getByRole('tab', { name: 'all kinds' }).click();
  await checkPage('datasets', true);
});

/** Records every value the loss chart's point count takes, from now on. */
async function recordLossPoints(): Promise<void> {
  await page.evaluate(`(() => {
    window.__lossPoints = [];
    const read = () => {
      const fig = document.querySelector('figure.chart');
      const n = fig ? Number(fig.getAttribute('data-points')) : 0;
      if (window.__lossPoints.at(-1) !== n) window.__lossPoints.push(n);
    };
    read();
    new MutationObserver(read).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-points'] });
  })()`);
}

async function fillRunForm(values: { steps: string; encoder: string; lm: string; name: string }) {
  await page.getByLabel('Name (optional)').fill(values.name);
  await page.getByLabel('Encoder checkpoint').fill(values.encoder);
  await page.getByLabel('Language model checkpoint').fill(values.lm);
  await page.getByLabel('Learning rate', { exact: true }).fill('1e-2');
  await page.getByLabel('Batch size').fill('2');
  await page.getByLabel('steps', { exact: true }).check();
  await page.getByLabel('Steps', { exact: true }).fill(values.steps);
}

test('runs: the form checks its fields, a run starts, and its loss chart grows live until it succeeds', async () => {
  await go('/runs');
  const runPosts: Request[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/api/v1/runs')) runPosts.push(r);
  });
  await page.getByLabel('Learning rate', { exact: true }).fill('0');
  await page.getByRole('button', { name: 'Start run' }).click();
  await page.getByText('Learning rate must be a number > 0').waitFor();
  await page.getByText('Give the encoder checkpoint (folder or repo id)').waitFor();
  assert.equal(runPosts.length, 0, 'an invalid form is not sent');
  assert.equal(await page.getByLabel('Learning rate', { exact: true }).getAttribute('aria-invalid'), 'true');

  await fillRunForm({
    name: 'projector warm-up',
    steps: '40',
    encoder: fixture('tiny-clip-vision'),
    lm: fixture('tiny-llama'),
  });
  await page.getByLabel('Eval every (steps, 0 = at the end)').fill('10');
  await page.getByLabel('Seed').fill('3');
  await page.getByLabel('Media token').fill('<image>');
  const [post] = await Promise.all([
    page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/v1/runs')),
    page.getByRole('button', { name: 'Start run' }).click(),
  ]);
  const sent = post.postDataJSON() as { seed: number; lm: { imageToken: string } };
  assert.equal(sent.seed, 3);
  assert.equal(sent.lm.imageToken, '<image>');
  await page.waitForURL(/\/runs\/r_/);
  ids.trainedRun = page.url().split('/').pop();
  await recordLossPoints();
  await waitForRunStatus('succeeded', 240_000);
  await page.getByText('40 / 40').first().waitFor();
  const seen = (await page.evaluate('window.__lossPoints')) as number[];
  // Every stored step and eval line is on the chart, and it got there in many steps as they streamed.
  const metrics = (await (
    await fetch(`${stack.services.trainer}/v1/runs/${ids.trainedRun}/metrics`, {
      headers: { authorization: `Bearer ${STACK_API_KEY}` },
    })
  ).json()) as { items: { type: string; step: number }[] };
  assert.equal(metrics.items.filter((l) => l.type === 'step').length, 40);
  assert.equal(seen.at(-1), metrics.items.length, `loss chart point counts seen: ${seen.join(', ')}`);
  assert.ok(seen.length >= 4, `the chart should grow in several steps, saw ${seen.join(', ')}`);
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    seen,
    'points only ever get added',
  );

  // A finished run offers what applies to it: no cancel or resume; its spec and the export command.
  assert.equal(await page.getByRole('button', { name: 'Cancel run' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Resume run' }).count(), 0);
  assert.equal(
    await page.getByTestId('export-command').textContent(),
    `mmit export ${ids.trainedRun} --out exports/${ids.trainedRun}`,
  );
  await chromium.context.grantPermissions(['clipboard-read', 'clipboard-write'], {
    origin: stack.consoleUrl,
  });
  await page.getByRole('button', { name: 'Copy export command' }).click();
  await page.getByRole('status').filter({ hasText: 'Copied.' }).waitFor();
  assert.equal(
    await page.evaluate('navigator.clipboard.readText()'),
    `mmit export ${ids.trainedRun} --out exports/${ids.trainedRun}`,
  );
  await page.getByText('The spec the run was started with').click();
  const spec = JSON.parse((await page.getByTestId('run-spec').textContent()) ?? '') as {
    seed: number;
    steps: number;
    lm: { imageToken: string };
  };
  assert.deepEqual([spec.seed, spec.steps, spec.lm.imageToken], [3, 40, '<image>']);
  await checkPage('run', true);
});

test('runs: cancel a running run, resume it, cancel again; compare two runs', async () => {
  await go('/runs');
  await fillRunForm({
    name: 'long run',
    steps: '5000',
    encoder: fixture('tiny-clip-vision'),
    lm: fixture('tiny-llama'),
  });
  await page.getByRole('button', { name: 'Start run' }).click();
  await page.waitForURL(/\/runs\/r_/);
  await waitForRunStatus('running', 120_000);
  assert.equal(await page.getByRole('button', { name: 'Resume run' }).count(), 0, 'nothing to resume yet');
  await page.getByRole('button', { name: 'Cancel run' }).click();
  await waitForRunStatus('cancelled', 60_000);
  assert.equal(await page.getByRole('button', { name: 'Cancel run' }).count(), 0, 'nothing to cancel');
  await page.getByRole('button', { name: 'Resume run' }).click();
  await waitForRunStatus('running', 120_000);
  const attempt = page.locator('dl.stats div', { hasText: 'Attempt' }).locator('dd');
  assert.equal(await attempt.innerText(), '2');
  await page.getByRole('button', { name: 'Cancel run' }).click();
  await waitForRunStatus('cancelled', 60_000);

  await go('/runs');
  await page.getByLabel('Compare projector warm-up').check();
  await page.getByLabel('Compare long run').check();
  await page.getByRole('button', { name: 'Compare selected (2)' }).click();
  const legend = page.locator('#compare-heading ~ .chart-grid figure').first().locator('.legend li');
  await page.waitForFunction(
    `document.querySelectorAll('#compare-heading ~ .chart-grid figure .legend li').length === 4`,
  );
  // The list is newest first, and so is the comparison.
  assert.deepEqual(await legend.allInnerTexts(), ['long run', 'projector warm-up']);
  await checkPage('runs', true);
});

test('feature jobs: the first computed every image; the later ones had nothing to do and are hidden, then marked', async () => {
  await go('/features');
  // Newest first: the long run's jobs (its first start and its resume) found everything cached, so
  // they are hidden behind a switch; the first run's job computed everything.
  const noOps = page.getByLabel(/Show the .*with nothing to do/);
  await noOps.waitFor();
  assert.equal(await page.getByTestId('feature-job').count(), 1);
  assert.deepEqual(await page.getByTestId('hit-rate').allInnerTexts(), ['0%']);
  await noOps.check();
  await page.waitForFunction(`document.querySelectorAll('[data-testid="feature-job"]').length >= 2`);
  const cards = await page.getByTestId('feature-job').count();
  const rates = await page.getByTestId('hit-rate').allInnerTexts();
  assert.equal(rates.at(-1), '0%', rates.join(', '));
  assert.ok(
    rates.slice(0, -1).every((r) => r === '100%'),
    rates.join(', '),
  );
  assert.equal(await page.getByTestId('no-op').count(), cards - 1, 'every job but the first is marked');
  await page.getByRole('table').getByText('clip (image)').waitFor();
  await checkPage('features', true);
});

test('playground: the trained run answers about an attached image, streamed', async () => {
  await go(`/playground?model=${ids.trainedRun}`);
  await page.locator(`#chat-model option[value="${ids.trainedRun}"]`).waitFor({ state: 'attached' });
  assert.equal(await page.getByLabel('Model').inputValue(), ids.trainedRun);
  const image = join(stack.dir, 'upload', 'question.png');
  await writeFile(image, await gradientPng(5));
  await page.getByLabel('Image or audio (wav, mp3, flac)').setInputFiles(image);
  await page.getByAltText('Attachment question.png').waitFor();
  await page.getByLabel('Message').fill('What is in this picture?');
  await page.getByLabel('Max tokens').fill('24');
  const [request] = await Promise.all([
    page.waitForRequest((r) => r.url().endsWith('/api/v1/chat/completions')),
    page.getByRole('button', { name: 'Send' }).click(),
  ]);
  const body = request.postDataJSON() as { stream: boolean; messages: { content: { type: string }[] }[] };
  assert.equal(body.stream, true);
  assert.deepEqual(
    body.messages[0].content.map((p) => p.type),
    ['image_url', 'text'],
  );
  const response = await request.response();
  assert.match(response?.headers()['content-type'] ?? '', /^text\/event-stream/);
  const finished = page.getByRole('status').filter({ hasText: 'Finished:' });
  await finished.waitFor({ timeout: 120_000 });
  const completion = Number(/(\d+) completion tokens/.exec(await finished.innerText())?.[1]);
  assert.ok(completion >= 1, `expected generated tokens: ${await finished.innerText()}`);
  assert.equal(await page.locator('.turns-list .turn').count(), 2);
  await checkPage('playground', true);
});

test('with the CSP in force, no page logs an error or a policy violation', async () => {
  const strict = await launchChromium({ enforceCsp: true });
  try {
    // Init scripts come in through the DevTools protocol, which the page's CSP does not govern.
    await strict.context.addInitScript(`
      sessionStorage.setItem('mmit.apiKey', ${JSON.stringify(STACK_API_KEY)});
      window.__cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
    `);
    const strictPage = await strict.context.newPage();
    const logged: string[] = [];
    strictPage.on('console', (m) => {
      if (m.type() === 'error') logged.push(m.text());
    });
    strictPage.on('pageerror', (err) => logged.push(err.message));
    // Each page with something it shows once its data has loaded.
    const pages: [string, string][] = [
      ['/corpora', 'Captioned photos'],
      [`/corpora/${ids.corpus}`, 'fishing boats moored in a small harbour'],
      ['/datasets', 'Photo instructions'],
      [`/datasets/${ids.dataset}`, 'Most common instruction openings'],
      ['/features', 'clip (image)'],
      ['/runs', 'projector warm-up'],
      [`/runs/${ids.trainedRun}`, 'The spec the run was started with'],
      [`/playground?model=${ids.trainedRun}`, 'Send'],
    ];
    for (const [path, shown] of pages) {
      await strictPage.goto(`${stack.consoleUrl}${path}`);
      await strictPage.getByText(shown).first().waitFor();
      // Thumbnails and streams settle after the first paint.
      await strictPage.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => undefined);
      const violations = (await strictPage.evaluate('window.__cspViolations')) as string[];
      assert.deepEqual({ path, logged, violations }, { path, logged: [], violations: [] });
    }
  } finally {
    await strict.close();
  }
});
