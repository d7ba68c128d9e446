// Web tracking over HTTP: the snippet, the pixel, the collector, the batch API, identify and the
// counters, consent and Do-Not-Track, and the Segment API through the real analytics-node SDK.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { Analytics } from '@segment/analytics-node';
import { drivers, startServer, api, show } from './harness.mjs';

const iso = (msAgo = 0) => new Date(Date.now() - msAgo).toISOString();
const MIN = 60_000;

async function newCustomer(server, body) {
  const c = await api(server, 'POST', '/api/v1/customers', { role: 'admin', body });
  assert.equal(c.status, 201, show(c));
  return c.body.id;
}

async function timeline(server, id, query = '') {
  const t = await api(server, 'GET', `/api/v1/customers/${id}/timeline${query}`, { role: 'viewer' });
  assert.equal(t.status, 200, show(t));
  return t.body;
}

for (const driver of drivers()) {
  describe(driver, () => {
    let server;
    before(async () => {
      server = await startServer(driver);
    });
    after(async () => {
      await server?.stop();
    });

    test('the snippet is small JavaScript and the pixel a GIF', async () => {
      const js = await api(server, 'GET', '/t.js');
      assert.equal(js.status, 200);
      assert.match(js.headers.get('content-type'), /javascript/);
      assert.match(js.text, /t\/collect/);
      const gz = gzipSync(Buffer.from(js.text)).length;
      assert.ok(gz < 2048, `t.js is ${gz} bytes gzipped`);

      const gif = await fetch(`${server.url}/t.gif?vid=pixel-1&url=${encodeURIComponent('https://shop.fr/?utm_medium=email')}&fbclid=x1`);
      assert.equal(gif.status, 200);
      assert.equal(gif.headers.get('content-type'), 'image/gif');
      assert.equal(gif.headers.get('tracking'), 'stored');
      const bytes = Buffer.from(await gif.arrayBuffer());
      assert.equal(bytes.subarray(0, 6).toString(), 'GIF89a');
      // Without an id, Fidelis sets its own first-party cookie.
      const anon = await fetch(`${server.url}/t.gif?url=${encodeURIComponent('https://shop.fr/')}`);
      assert.match(anon.headers.get('set-cookie') || '', /^fid_vid=[A-Za-z0-9_-]{22};.*HttpOnly/);
      const bad = await api(server, 'GET', '/t.gif?vid=pixel-1&e=click');
      assert.equal(bad.status, 400, show(bad));
      assert.equal(bad.body.field, 'e');

      const id = await newCustomer(server, { last_name: 'Pixel' });
      const ident = await api(server, 'POST', '/api/v1/tracking/identify', { role: 'marketer', body: { visitor_id: 'pixel-1', customer_id: id } });
      assert.equal(ident.status, 200, show(ident));
      assert.equal(ident.body.events_attributed, 1);
      const c = await api(server, 'GET', `/api/v1/customers/${id}/web-counters`, { role: 'viewer' });
      assert.equal(c.body.visits, 1);
      assert.equal(c.body.visits_by_source.email, 1);
    });

    test('batch API: validation names the event and field; sessions, stitching and counters', async () => {
      const post = (body, role = 'marketer') => api(server, 'POST', '/api/v1/tracking/events', { role, body });
      assert.equal((await post({ events: [{ visitor_id: 'b1', type: 'page_view', url: 'https://shop.fr/' }] }, 'agent')).status, 403);
      const bad = await post({ events: [{ visitor_id: 'b1', type: 'page_view', url: 'https://shop.fr/' }, { visitor_id: 'b1', type: 'cart_add' }] });
      assert.equal(bad.status, 400, show(bad));
      assert.equal(bad.body.field, 'events[1].sku');
      const badType = await post({ events: [{ visitor_id: 'b1', type: 'click' }] });
      assert.equal(badType.body.field, 'events[0].type');
      const unknown = await post({ events: [{ visitor_id: 'b1', type: 'page_view', colour: 'red' }] });
      assert.equal(unknown.body.field, 'events[0].colour');
      const tooMany = await post({ events: Array.from({ length: 1001 }, () => ({ visitor_id: 'b1', type: 'page_view' })) });
      assert.equal(tooMany.status, 400);
      assert.equal(tooMany.body.field, 'events');

      const events = [
        { visitor_id: 'b1', type: 'page_view', at: iso(120 * MIN), url: 'https://shop.fr/', referrer: 'https://www.google.fr/' },
        { visitor_id: 'b1', type: 'product_view', at: iso(119 * MIN), url: 'https://shop.fr/p/1', sku: 'TON-42' },
        { visitor_id: 'b1', type: 'cart_add', at: iso(118 * MIN), sku: 'TON-42', quantity: 2 },
        { visitor_id: 'b1', type: 'page_view', at: iso(10 * MIN), url: 'https://shop.fr/?utm_source=fb&utm_medium=paid_social' },
        { visitor_id: 'b1', type: 'checkout_step', at: iso(9 * MIN), step: 'shipping' },
        { visitor_id: 'b1', type: 'search', at: iso(8 * MIN), query: 'tondeuse' },
      ];
      const ok = await post({ events });
      assert.equal(ok.status, 200, show(ok));
      assert.deepEqual(ok.body, { accepted: 6, sessions_started: 2 });

      const id = await newCustomer(server, { last_name: 'Batch' });
      const ident = await api(server, 'POST', '/api/v1/tracking/identify', { role: 'admin', body: { visitor_id: 'b1', customer_id: id } });
      assert.equal(ident.body.events_attributed, 6);
      const missing = await api(server, 'POST', '/api/v1/tracking/identify', { role: 'admin', body: { visitor_id: 'b1', customer_id: 99999999 } });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.field, 'customer_id');
      const c = await api(server, 'GET', `/api/v1/customers/${id}/web-counters`, { role: 'viewer' });
      assert.equal(c.body.visits, 2);
      assert.equal(c.body.page_views, 2);
      assert.equal(c.body.events, 6);
      assert.equal(c.body.last_source, 'ads');
      assert.equal(c.body.visits_by_source.search, 1);
      // Later events of the known visitor count at once.
      assert.equal((await post({ events: [{ visitor_id: 'b1', type: 'page_view', url: 'https://shop.fr/merci' }] })).status, 200);
      const c2 = await api(server, 'GET', `/api/v1/customers/${id}/web-counters`, { role: 'viewer' });
      assert.equal(c2.body.page_views, 3);
      assert.equal(c2.body.visits, 2);
      const t = await timeline(server, id, '?kind=web_session');
      assert.deepEqual(t.items.map((i) => i.details.source), ['ads', 'search']);
      assert.equal(t.items[1].details.page_views, 1);
    });

    test('the collector honours consent and Do-Not-Track', async () => {
      const collect = (body, headers = {}) => api(server, 'POST', '/t/collect', { raw: JSON.stringify(body), headers: { 'Content-Type': 'text/plain', ...headers } });
      const r = await collect({ visitor_id: 'c1', events: [{ type: 'page_view', url: 'https://shop.fr/' }] });
      assert.equal(r.status, 204, show(r));
      assert.equal(r.headers.get('tracking'), 'stored');
      const dnt = await collect({ visitor_id: 'c2', events: [{ type: 'page_view', url: 'https://shop.fr/' }] }, { DNT: '1' });
      assert.equal(dnt.status, 204);
      assert.equal(dnt.headers.get('tracking'), 'not stored: do not track');
      const gpc = await collect({ visitor_id: 'c2', events: [{ type: 'page_view', url: 'https://shop.fr/' }] }, { 'Sec-GPC': '1' });
      assert.equal(gpc.headers.get('tracking'), 'not stored: do not track');
      const bad = await collect({ visitor_id: 'c1', events: [{ type: 'page_view', url: 'ftp://x' }] });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.field, 'events[0].url');
      // UTM values read from the address are held to the rules of sent ones: no bytes that are not UTF-8.
      const utm = await collect({ visitor_id: 'c1', events: [{ type: 'page_view', url: 'https://shop.fr/?utm_source=%FF' }] });
      assert.equal(utm.status, 400, show(utm));
      assert.equal(utm.body.field, 'events[0].url');
      // Properties nested 400 000 levels deep: refused, and the server (which writes them back out
      // level by level) is still up.
      const deep = '[' .repeat(400000) + ']'.repeat(400000);
      const nested = await api(server, 'POST', '/t/collect', {
        raw: `{"visitor_id":"c1","events":[{"type":"track","name":"x","properties":{"a":${deep}}}]}`,
        headers: { 'Content-Type': 'text/plain' },
      });
      assert.equal(nested.status, 400, show(nested));
      assert.equal(nested.body.field, 'body');
      assert.match(nested.body.detail, /deeper than 32 levels/);
      const alive = await collect({ visitor_id: 'c1', events: [{ type: 'page_view', url: 'https://shop.fr/' }] });
      assert.equal(alive.status, 204, show(alive));
      const id = await newCustomer(server, { last_name: 'Dnt' });
      const ident = await api(server, 'POST', '/api/v1/tracking/identify', { role: 'admin', body: { visitor_id: 'c2', customer_id: id } });
      assert.equal(ident.body.events_attributed, 0, 'nothing was stored for the DNT visitor');
    });

    test('with tracking.require_consent, nothing is stored or set until consent', async () => {
      const strict = await startServer(driver, { env: { FIDELIS_TRACKING_REQUIRE_CONSENT: 'true' } });
      try {
        const js = await api(strict, 'GET', '/t.js');
        assert.match(js.text, /need = true/);
        const collect = (body) => api(strict, 'POST', '/t/collect', { raw: JSON.stringify(body), headers: { 'Content-Type': 'text/plain' } });
        const no = await collect({ events: [{ type: 'page_view', url: 'https://shop.fr/' }] });
        assert.equal(no.status, 204);
        assert.equal(no.headers.get('tracking'), 'not stored: no consent');
        assert.equal(no.headers.get('set-cookie'), null);
        const pix = await fetch(`${strict.url}/t.gif?url=${encodeURIComponent('https://shop.fr/')}`);
        assert.equal(pix.headers.get('set-cookie'), null);
        assert.equal(pix.headers.get('tracking'), 'not stored: no consent');
        const yes = await collect({ visitor_id: 'k1', consent: true, events: [{ type: 'page_view', url: 'https://shop.fr/' }] });
        assert.equal(yes.headers.get('tracking'), 'stored');
        const pixYes = await fetch(`${strict.url}/t.gif?vid=k1&consent=1&url=${encodeURIComponent('https://shop.fr/a')}`);
        assert.equal(pixYes.headers.get('tracking'), 'stored');
        const id = await newCustomer(strict, { last_name: 'Consent' });
        const ident = await api(strict, 'POST', '/api/v1/tracking/identify', { role: 'admin', body: { visitor_id: 'k1', customer_id: id } });
        assert.equal(ident.body.events_attributed, 2);
      } finally {
        await strict.stop();
      }
    });

    test('the Segment SDK sends to Fidelis unchanged', async () => {
      const id = await newCustomer(server, { last_name: 'Segment', emails: [{ email: 'seg@example.fr' }] });
      const analytics = new Analytics({ writeKey: server.keys.marketer, host: server.url, flushAt: 50, maxRetries: 1 });
      const errors = [];
      analytics.on('error', (e) => errors.push(e));
      analytics.page({ anonymousId: 'seg-anon', name: 'Accueil', properties: { url: 'https://shop.fr/?utm_source=nl&utm_medium=email', title: 'Accueil' } });
      analytics.track({ anonymousId: 'seg-anon', event: 'Product Viewed', properties: { sku: 'TON-42', price: 199.9 } });
      analytics.track({ anonymousId: 'seg-anon', event: 'Product Added', properties: { product_id: 'TON-42', quantity: 1 } });
      analytics.track({ anonymousId: 'seg-anon', event: 'Newsletter Opened', properties: {} });
      analytics.identify({ anonymousId: 'seg-anon', userId: 'shop-123', traits: { email: 'SEG@example.fr' } });
      await analytics.closeAndFlush({ timeout: 10_000 });
      assert.deepEqual(errors, []);
      const c = await api(server, 'GET', `/api/v1/customers/${id}/web-counters`, { role: 'viewer' });
      assert.equal(c.status, 200, show(c));
      assert.equal(c.body.events, 4);
      assert.equal(c.body.page_views, 1);
      assert.equal(c.body.visits_by_source.email, 1);

      // A viewer's key is refused; so is a wrong key.
      const viewer = await fetch(`${server.url}/v1/track`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Basic ' + Buffer.from(server.keys.viewer + ':').toString('base64') },
        body: JSON.stringify({ anonymousId: 'x', event: 'E' }),
      });
      assert.equal(viewer.status, 403);
      const wrong = await fetch(`${server.url}/v1/track`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Basic ' + Buffer.from('nope:').toString('base64') },
        body: JSON.stringify({ anonymousId: 'x', event: 'E' }),
      });
      assert.equal(wrong.status, 401);
      const noId = await api(server, 'POST', '/v1/batch', { role: 'admin', body: { batch: [{ type: 'track', event: 'E' }] } });
      assert.equal(noId.status, 400);
      assert.equal(noId.body.field, 'batch[0].anonymousId');
    });
  });
}
