// The catalogue over HTTP: departments as a tree, products with validation, versions and filters.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { drivers, startServer, api, show } from './harness.mjs';

for (const driver of drivers()) {
  describe(driver, () => {
    let server;
    before(async () => {
      server = await startServer(driver);
    });
    after(async () => {
      await server?.stop();
    });

    test('a marketer builds the catalogue; everyone reads it', async () => {
      const post = (path, body, role = 'marketer') => api(server, 'POST', path, { role, body });
      assert.equal((await post('/api/v1/categories', { slug: 'maison', name: 'Maison' })).status, 201);
      const jardin = await post('/api/v1/categories', { slug: 'jardin', name: 'Jardin', parent: 'maison' });
      assert.equal(jardin.status, 201, show(jardin));
      assert.equal(jardin.body.path, '/maison/jardin/');
      assert.equal((await post('/api/v1/categories', { slug: 'x', name: 'X', parent: 'nope' })).status, 404);
      assert.equal((await post('/api/v1/categories', { slug: 'jardin', name: 'J' })).status, 409);
      assert.equal((await post('/api/v1/categories', { slug: 'z', name: 'Z' }, 'agent')).status, 403);

      const p = await post('/api/v1/products', { sku: 'ENG-1', name: 'Engrais gazon', category: 'jardin', price_minor: 1290, currency: 'eur', replenishment_days: 90 });
      assert.equal(p.status, 201, show(p));
      assert.equal(p.body.currency, 'EUR');
      assert.equal(p.headers.get('etag'), '"v1"');
      const bad = await post('/api/v1/products', { sku: 'X', name: 'X', price_minor: -5, currency: 'EUR' });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.field, 'price_minor');
      assert.equal((await post('/api/v1/products', { sku: 'ENG-1', name: 'Dup', price_minor: 1, currency: 'EUR' })).status, 409);

      const list = await api(server, 'GET', '/api/v1/products?category=maison&q=engrais', { role: 'viewer' });
      assert.equal(list.status, 200, show(list));
      assert.equal(list.body.items.length, 1);
      const cats = await api(server, 'GET', '/api/v1/categories', { role: 'sales' });
      assert.deepEqual(cats.body.items.map((c) => c.path), ['/maison/', '/maison/jardin/']);

      const path = `/api/v1/products/${p.body.id}`;
      assert.equal((await api(server, 'PATCH', path, { role: 'marketer', body: { price_minor: 1390 } })).status, 428);
      const upd = await api(server, 'PATCH', path, { role: 'marketer', body: { price_minor: 1390, replenishment_days: null }, headers: { 'If-Match': '"v1"' } });
      assert.equal(upd.status, 200, show(upd));
      assert.equal(upd.body.price_minor, 1390);
      assert.equal(upd.body.replenishment_days, null);
      assert.equal(upd.body.version, 2);
      const stale = await api(server, 'PATCH', path, { role: 'marketer', body: { active: false }, headers: { 'If-Match': '"v1"' } });
      assert.equal(stale.status, 412, show(stale));
    });
  });
}
