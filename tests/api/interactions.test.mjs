// Interactions and the customer's timeline over HTTP: CRUD with validation naming the field,
// versions, the CSV import with its rejects file, the timeline's merge, filters and pages.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drivers, startServer, api, show, cli } from './harness.mjs';

for (const driver of drivers()) {
  describe(driver, () => {
    let server;
    let customer;
    before(async () => {
      server = await startServer(driver);
      const c = await api(server, 'POST', '/api/v1/customers', { role: 'admin', body: { last_name: 'Timeline', emails: [{ email: 'tl@example.fr' }] } });
      assert.equal(c.status, 201, show(c));
      customer = c.body.id;
    });
    after(async () => {
      await server?.stop();
    });

    test('interactions: create, read, change with If-Match, delete; errors name the field', async () => {
      const post = (body, role = 'agent') => api(server, 'POST', '/api/v1/interactions', { role, body });
      for (const [body, field] of [
        [{ customer_id: customer, channel: 'pigeon', direction: 'inbound' }, 'channel'],
        [{ customer_id: customer, channel: 'call', direction: 'up' }, 'direction'],
        [{ customer_id: customer, channel: 'call' }, 'direction'],
        [{ channel: 'call', direction: 'inbound' }, 'customer_id'],
        [{ customer_id: customer, channel: 'call', direction: 'inbound', at: 'hier' }, 'at'],
        [{ customer_id: customer, channel: 'call', direction: 'inbound', subject: 'x'.repeat(201) }, 'subject'],
        [{ customer_id: customer, channel: 'call', direction: 'inbound', mood: 'good' }, 'mood'],
        [{ customer_id: 'one', channel: 'call', direction: 'inbound' }, 'customer_id'],
      ]) {
        const r = await post(body);
        assert.equal(r.status, 400, `${JSON.stringify(body)}: ${show(r)}`);
        assert.equal(r.body.field, field, show(r));
      }
      const missing = await post({ customer_id: 99999999, channel: 'call', direction: 'inbound' });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.field, 'customer_id');
      assert.equal((await post({ customer_id: customer, channel: 'call', direction: 'inbound' }, 'viewer')).status, 403);

      const made = await post({ customer_id: customer, channel: 'call', direction: 'outbound', at: '2025-06-01T09:30:00Z', subject: 'Relance devis', outcome: 'rappeler' });
      assert.equal(made.status, 201, show(made));
      assert.equal(made.headers.get('etag'), '"v1"');
      assert.equal(made.body.at, '2025-06-01T09:30:00.000Z');
      const path = `/api/v1/interactions/${made.body.id}`;
      assert.equal((await api(server, 'GET', path, { role: 'viewer' })).body.subject, 'Relance devis');
      assert.equal((await api(server, 'PATCH', path, { role: 'sales', body: { notes: 'x' } })).status, 428);
      const upd = await api(server, 'PATCH', path, { role: 'sales', body: { notes: 'Intéressé', agent_id: null }, headers: { 'If-Match': '"v1"' } });
      assert.equal(upd.status, 200, show(upd));
      assert.equal(upd.body.version, 2);
      assert.equal(upd.body.agent_id, null);
      const stale = await api(server, 'PATCH', path, { role: 'sales', body: { notes: 'y' }, headers: { 'If-Match': '"v1"' } });
      assert.equal(stale.status, 412, show(stale));
      const list = await api(server, 'GET', `/api/v1/customers/${customer}/interactions?channel=call`, { role: 'viewer' });
      assert.equal(list.status, 200, show(list));
      assert.equal(list.body.items.length, 1);
      const del = await api(server, 'DELETE', path, { role: 'agent' });
      assert.equal(del.status, 204, show(del));
      assert.equal((await api(server, 'GET', path, { role: 'viewer' })).status, 404);
    });

    test('fidelis import interactions: valid rows in, refused rows in a rejects file', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fidelis-int-'));
      try {
        const file = join(dir, 'journal.csv');
        writeFileSync(file, 'customer_email;channel;direction;at;subject;agent\n' +
          'tl@example.fr;store_visit;inbound;2025-05-02 15:00;Visite magasin;\n' +
          'tl@example.fr;fax;inbound;2025-05-03;Fax;\n' +
          'tl@example.fr;letter;outbound;2025-05-04;Courrier;nobody@example.fr\n');
        const r = await cli(['--db', server.db, 'import', 'interactions', file]);
        assert.equal(r.code, 3, r.stderr + r.stdout);
        assert.match(r.stdout, /3 rows, 1 imported, 2 rejected/);
        const rejects = readFileSync(`${file}.rejects.csv`, 'utf8');
        assert.match(rejects, /^line,field,reason\n3,channel,/);
        assert.match(rejects, /\n4,agent,/);
        const list = await api(server, 'GET', `/api/v1/customers/${customer}/interactions?channel=store_visit`, { role: 'viewer' });
        assert.equal(list.body.items.length, 1);
        assert.equal(list.body.items[0].source, 'import:journal.csv');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('the timeline merges kinds newest first, filters, and pages without gaps', async () => {
      const c = await api(server, 'POST', '/api/v1/customers', { role: 'admin', body: { last_name: 'Pages' } });
      const id = c.body.id;
      const base = Date.UTC(2025, 5, 10, 12);
      for (let i = 0; i < 7; i++) {
        const r = await api(server, 'POST', '/api/v1/interactions', { role: 'agent', body: { customer_id: id, channel: i % 2 ? 'sms' : 'call', direction: 'inbound', at: new Date(base + i * 3600_000).toISOString(), subject: `n${i}` } });
        assert.equal(r.status, 201, show(r));
      }
      const ev = await api(server, 'POST', '/api/v1/tracking/events', { role: 'marketer', body: { events: [{ visitor_id: 'tl-v', type: 'page_view', url: 'https://shop.fr/' }] } });
      assert.equal(ev.status, 200, show(ev));
      await api(server, 'POST', '/api/v1/tracking/identify', { role: 'marketer', body: { visitor_id: 'tl-v', customer_id: id } });

      const all = await api(server, 'GET', `/api/v1/customers/${id}/timeline`, { role: 'viewer' });
      assert.equal(all.status, 200, show(all));
      assert.equal(all.body.items.length, 8);
      assert.equal(all.body.items[0].kind, 'web_session');  // now: the newest
      assert.deepEqual(all.body.items.slice(1).map((i) => i.title), ['n6', 'n5', 'n4', 'n3', 'n2', 'n1', 'n0']);
      const seen = [];
      let cursor = null;
      do {
        const p = await api(server, 'GET', `/api/v1/customers/${id}/timeline?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { role: 'viewer' });
        assert.equal(p.status, 200, show(p));
        seen.push(...p.body.items.map((i) => `${i.kind}:${i.id}`));
        cursor = p.body.next_cursor;
      } while (cursor);
      assert.deepEqual(seen, all.body.items.map((i) => `${i.kind}:${i.id}`));
      const sms = await api(server, 'GET', `/api/v1/customers/${id}/timeline?channel=sms`, { role: 'viewer' });
      assert.equal(sms.body.items.length, 3);
      const period = await api(server, 'GET', `/api/v1/customers/${id}/timeline?kind=interaction&from=${new Date(base + 3600_000).toISOString()}&to=${new Date(base + 3 * 3600_000).toISOString()}`, { role: 'viewer' });
      assert.deepEqual(period.body.items.map((i) => i.title), ['n2', 'n1']);
      const badKind = await api(server, 'GET', `/api/v1/customers/${id}/timeline?kind=parcel`, { role: 'viewer' });
      assert.equal(badKind.status, 400);
      assert.equal(badKind.body.field, 'kind');
      const badCursor = await api(server, 'GET', `/api/v1/customers/${id}/timeline?cursor=zzz`, { role: 'viewer' });
      assert.equal(badCursor.body.field, 'cursor');
      assert.equal((await api(server, 'GET', '/api/v1/customers/99999999/timeline', { role: 'viewer' })).status, 404);
    });
  });
}
