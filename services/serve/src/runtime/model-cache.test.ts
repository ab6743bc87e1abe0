import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelCache } from './model-cache.js';

class Loaded {
  released = false;
  constructor(readonly id: string) {}
  async release() {
    this.released = true;
  }
}

describe('ModelCache', () => {
  it('loads once, evicts the least recently used idle model past capacity, and releases it', async () => {
    const loads: string[] = [];
    const cache = new ModelCache<Loaded>(2, async (id) => {
      loads.push(id);
      return new Loaded(id);
    });
    const [a1, a2] = await Promise.all([cache.acquire('a'), cache.acquire('a')]);
    assert.equal(a1.model, a2.model);
    a1.done();
    a2.done();
    const b = await cache.acquire('b');
    b.done();
    (await cache.acquire('a')).done(); // a is now the most recent
    const c = await cache.acquire('c');
    c.done();
    assert.deepEqual(cache.ids(), ['a', 'c']);
    assert.equal(b.model.released, true);
    assert.equal(a1.model.released, false);
    assert.deepEqual(loads, ['a', 'b', 'c']);
  });

  it('never evicts a model in use, and forgets a failed load', async () => {
    const cache = new ModelCache<Loaded>(1, async (id) => {
      if (id === 'bad') throw new Error('no such checkpoint');
      return new Loaded(id);
    });
    const a = await cache.acquire('a');
    const b = await cache.acquire('b');
    assert.equal(a.model.released, false);
    assert.equal(cache.size, 2);
    a.done();
    await new Promise((r) => setImmediate(r));
    assert.equal(a.model.released, true);
    b.done();
    await assert.rejects(cache.acquire('bad'), /no such checkpoint/);
    assert.deepEqual(cache.ids(), ['b']);
  });
});
