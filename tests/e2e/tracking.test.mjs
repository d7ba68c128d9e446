// The snippet in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) opens a shop page served by node that carries the snippet from Fidelis, browses
// to a second page, then the shop identifies the visitor (as it would on login) and the customer's
// timeline shows that visit, with both pages, joined to the profile.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { chromium } from 'playwright-core';
import { drivers, startServer, api, show, sleep } from '../api/harness.mjs';

const CHROMIUM = process.env.FIDELIS_CHROMIUM || '/usr/bin/chromium';

function shop(fidelisUrl) {
  const page = (title, body) =>
    `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>` +
    `<script async src="${fidelisUrl}/t.js"></script></head><body>${body}</body></html>`;
  const server = createServer((req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/') return res.end(page('Accueil', '<a id="next" href="/jardin">Jardin</a>'));
    if (path === '/jardin') return res.end(page('Jardin', '<p>Tondeuses</p>'));
    res.statusCode = 404;
    res.end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

for (const driver of drivers()) {
  describe(driver, () => {
    let fidelis;
    let shopServer;
    let browser;
    before(async () => {
      fidelis = await startServer(driver);
      shopServer = await shop(fidelis.url);
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    });
    after(async () => {
      await browser?.close();
      shopServer?.close();
      await fidelis?.stop();
    });

    test('two pages browsed anonymously join the profile on identify', async () => {
      const shopUrl = `http://127.0.0.1:${shopServer.address().port}`;
      const context = await browser.newContext();
      const page = await context.newPage();
      const collected = [];
      page.on('request', (r) => {
        if (r.url().endsWith('/t/collect')) collected.push(r.postData());
      });
      await page.goto(`${shopUrl}/?utm_source=lettre&utm_medium=email&utm_campaign=printemps`);
      await page.waitForFunction(() => typeof window.fidelis === 'function');
      await Promise.all([page.waitForURL(`${shopUrl}/jardin`), page.click('#next')]);
      await page.waitForFunction(() => typeof window.fidelis === 'function');
      const cookies = await context.cookies(shopUrl);
      const vid = cookies.find((c) => c.name === '_fid_vid')?.value;
      assert.match(vid || '', /^[A-Za-z0-9_-]{16}$/, `cookies: ${JSON.stringify(cookies)}`);
      const fromPage = await page.evaluate(() => new Promise((r) => window.fidelis('ready', r)));
      assert.equal(fromPage, vid);

      // The shop logs the visitor in and tells Fidelis who it is.
      const c = await api(fidelis, 'POST', '/api/v1/customers', { role: 'admin', body: { first_name: 'Léa', last_name: 'Navigatrice' } });
      assert.equal(c.status, 201, show(c));
      const ident = await api(fidelis, 'POST', '/api/v1/tracking/identify', { role: 'marketer', body: { visitor_id: vid, customer_id: c.body.id } });
      assert.equal(ident.status, 200, show(ident));

      // Beacons are asynchronous: wait until both page views have landed.
      let session;
      for (let i = 0; i < 50 && !(session?.details.page_views >= 2); i++) {
        const t = await api(fidelis, 'GET', `/api/v1/customers/${c.body.id}/timeline?kind=web_session`, { role: 'viewer' });
        assert.equal(t.status, 200, show(t));
        session = t.body.items[0];
        if (!(session?.details.page_views >= 2)) await sleep(100);
      }
      assert.ok(session, `no web session; the page sent ${JSON.stringify(collected)}`);
      assert.equal(session.details.page_views, 2, JSON.stringify(session));
      assert.equal(session.details.source, 'email');
      assert.match(session.title, /utm_campaign=printemps/);
      const counters = await api(fidelis, 'GET', `/api/v1/customers/${c.body.id}/web-counters`, { role: 'viewer' });
      assert.equal(counters.body.visits, 1);
      assert.equal(counters.body.page_views, 2);
      assert.equal(counters.body.visits_by_source.email, 1);
      await context.close();
    });
  });
}
