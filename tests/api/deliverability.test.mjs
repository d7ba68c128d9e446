// Deliverability as an API client sees it: provider webhooks (one event or a batch) and raw bounce
// messages (DSN) move each address's status (hard bounce, soft bounces escalating to a hard bounce,
// valid, complaint), an admin clears an address, postal NPAI flags, who may do what, and the NPAI
// rates overall, per source and per import with the alert and its metrics.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drivers, startServer, api, show, cliOk, ROOT } from './harness.mjs';

const WEBHOOK = '/api/v1/bounces/webhook';
const DSN = '/api/v1/bounces/dsn';
const STATUS = '/api/v1/email-status';
const TESTDATA = join(ROOT, 'src', 'bounces', 'testdata');
// A Postfix RFC 3464 report: jean.dupont@orange-mail.example, 5.1.1 user unknown.
const POSTFIX_DSN = readFileSync(join(TESTDATA, 'postfix_5_1_1.eml'));
const POSTFIX_RECIPIENT = 'jean.dupont@orange-mail.example';

// Two customer files from two systems, imported with the CLI before the server starts.
const BOUTIQUE = ['a0', 'a1', 'a2', 'a3'].map((x) => `${x}@boutique-clients.fr`);
const SALON = ['b0', 'b1'].map((x) => `${x}@salon-maison.fr`);
const csv = (emails, prefix) =>
  'Prénom;Nom;E-mail\r\n' + emails.map((e, i) => `${prefix}${i};Durand;${e}\r\n`).join('');

for (const driver of drivers()) {
  describe(driver, () => {
    let server;
    before(async () => {
      server = await startServer(driver);
    });
    after(async () => {
      await server?.stop();
    });

    const call = (method, path, opts = {}) => api(server, method, path, { role: 'marketer', ...opts });
    const expectProblem = (r, status, field) => {
      assert.equal(r.status, status, show(r));
      assert.match(r.headers.get('content-type') || '', /application\/problem\+json/);
      assert.equal(r.body.status, status);
      assert.equal(typeof r.body.code, 'string');
      assert.equal(typeof r.body.request_id, 'string');
      if (field !== undefined) assert.equal(r.body.field, field, show(r));
    };
    const hook = async (body, role = 'marketer') => {
      const r = await call('POST', WEBHOOK, { role, body });
      assert.equal(r.status, 200, show(r));
      return r.body;
    };
    const status = async (email, role = 'viewer') => {
      const r = await call('GET', `${STATUS}/${encodeURIComponent(email)}`, { role });
      assert.equal(r.status, 200, show(r));
      return r.body;
    };
    const postDsn = (raw, contentType = 'message/rfc822', role = 'marketer') =>
      call('POST', DSN, { role, raw, headers: { 'Content-Type': contentType } });

    test('a hard bounce from a provider makes the address hard_bounce', async () => {
      const c = await call('POST', '/api/v1/customers', { body: { last_name: 'Lefèvre', emails: ['Paul.Lefevre@Orange.fr'] } });
      assert.equal(c.status, 201, show(c));
      const body = await hook({
        type: 'bounce',
        email: 'paul.lefevre@orange.fr',
        bounce_type: 'hard',
        status_code: '5.1.1',
        diagnostic: '550 5.1.1 <paul.lefevre@orange.fr>: Recipient address rejected: User unknown',
        message_id: '<c42.r7.20250314091504@boutique.example>',
        at: '2025-03-14T10:15:05Z',
      });
      assert.equal(body.recorded, 1);
      assert.equal(body.addresses.length, 1);
      assert.equal(body.addresses[0].status, 'hard_bounce');
      const s = await status('PAUL.LEFEVRE@orange.fr');
      assert.equal(s.email, 'paul.lefevre@orange.fr');
      assert.equal(s.status, 'hard_bounce');
      assert.equal(s.customer_id, c.body.id);
      assert.equal(s.last_code, '5.1.1');
      assert.equal(s.last_reason, 'mailbox_unknown');
      assert.equal(s.sent, true);
      assert.equal(s.soft_bounces, 0);
      assert.match(s.updated_at, /^\d{4}-\d\d-\d\dT/);
      // A delivery seen later (a catch-all, a relay) does not revive an NPAI address.
      await hook({ type: 'delivered', email: 'paul.lefevre@orange.fr' });
      assert.equal((await status('paul.lefevre@orange.fr')).status, 'hard_bounce');
    });

    test('an address never heard of is unverified; a malformed one is refused', async () => {
      const s = await status('inconnu@example.fr');
      assert.deepEqual(s, {
        email: 'inconnu@example.fr', customer_id: null, status: 'unverified', soft_bounces: 0, sent: false,
        last_code: '', last_reason: '', updated_at: null,
      });
      expectProblem(await call('GET', `${STATUS}/pas-une-adresse`), 400, 'email');
    });

    test('three soft bounces in a row escalate to hard_bounce; a delivery resets the count', async () => {
      const soft = { type: 'bounce', email: 'marie.blanc@free.fr', status_code: '4.2.2', diagnostic: '452 4.2.2 Mailbox full' };
      let b = await hook(soft);
      assert.equal(b.addresses[0].status, 'soft_bounce');
      assert.equal(b.addresses[0].soft_bounces, 1);
      assert.equal(b.addresses[0].last_reason, 'mailbox_full');
      b = await hook(soft);
      assert.equal(b.addresses[0].status, 'soft_bounce');
      assert.equal(b.addresses[0].soft_bounces, 2);
      b = await hook(soft);
      assert.equal(b.addresses[0].status, 'hard_bounce');
      assert.equal(b.addresses[0].soft_bounces, 3);
      assert.equal((await status('marie.blanc@free.fr')).status, 'hard_bounce');

      // Two soft bounces, then a delivery: valid again, and the run starts over.
      const other = { ...soft, email: 'luc.faure@sfr.fr' };
      await hook(other);
      await hook(other);
      b = await hook({ type: 'delivered', email: 'luc.faure@sfr.fr' });
      assert.equal(b.addresses[0].status, 'valid');
      assert.equal(b.addresses[0].soft_bounces, 0);
      b = await hook(other);
      assert.equal(b.addresses[0].status, 'soft_bounce');
      assert.equal(b.addresses[0].soft_bounces, 1);
    });

    test('soft bounces arriving at the same time are all counted', async () => {
      const soft = { type: 'bounce', email: 'simultane@orange.fr', bounce_type: 'soft', status_code: '4.4.1' };
      const all = await Promise.all([0, 1, 2].map(() => call('POST', WEBHOOK, { body: soft })));
      for (const r of all) assert.equal(r.status, 200, show(r));
      const s = await status('simultane@orange.fr');
      assert.deepEqual([s.status, s.soft_bounces], ['hard_bounce', 3]);
    });

    test('a delivered event makes an address valid; complaints and unsubscribes outrank it', async () => {
      const b = await hook({ type: 'Delivered', email: 'sophie.roux@laposte.net' });
      assert.equal(b.addresses[0].status, 'valid');
      const s = await status('sophie.roux@laposte.net');
      assert.equal(s.status, 'valid');
      assert.equal(s.sent, true);
      assert.equal(s.last_reason, 'none');
      assert.equal((await hook({ type: 'complaint', email: 'sophie.roux@laposte.net' })).addresses[0].status, 'complaint');
      assert.equal((await hook({ type: 'delivered', email: 'sophie.roux@laposte.net' })).addresses[0].status, 'complaint');
      assert.equal((await hook({ type: 'unsubscribe', email: 'hugo.girard@gmail.com' })).addresses[0].status, 'unsubscribed');
      // Complaints are consent, not bounces: clearing leaves them.
      const cleared = await call('POST', `${STATUS}/sophie.roux@laposte.net/clear`);
      assert.equal(cleared.status, 200, show(cleared));
      assert.equal(cleared.body.status, 'complaint');
    });

    test('a batch of events is recorded in order; a bad event names its field and nothing is recorded', async () => {
      const b = await hook({
        events: [
          { type: 'delivered', email: 'lot1@wanadoo.fr' },
          { type: 'bounce', email: 'lot2@wanadoo.fr', bounce_type: 'permanent', status_code: '550', diagnostic: 'no such user' },
          { type: 'bounce', email: 'lot3@wanadoo.fr', bounce_type: 'soft', status_code: '4.4.1' },
        ],
      });
      assert.equal(b.recorded, 3);
      assert.deepEqual(b.addresses.map((a) => [a.email, a.status]),
        [['lot1@wanadoo.fr', 'valid'], ['lot2@wanadoo.fr', 'hard_bounce'], ['lot3@wanadoo.fr', 'soft_bounce']]);
      assert.equal((await status('lot2@wanadoo.fr')).status, 'hard_bounce');

      const bad = await call('POST', WEBHOOK, {
        body: { events: [{ type: 'bounce', email: 'lot4@wanadoo.fr', bounce_type: 'hard' }, { type: 'bounce', email: 'pas-une-adresse' }] },
      });
      expectProblem(bad, 400, 'events[1].email');
      assert.equal((await status('lot4@wanadoo.fr')).status, 'unverified', 'a refused batch records nothing');
      const cases = [
        [{ events: [] }, 'events'],
        [{ events: { type: 'delivered', email: 'x@y.fr' } }, 'events'],
        [{ events: Array.from({ length: 1001 }, (_, i) => ({ type: 'delivered', email: `l${i}@wanadoo.fr` })) }, 'events'],
        [{ events: [{ type: 'delivered', email: 'x@y.fr' }], source: 'brevo' }, 'source'],
        [{ events: [{ type: 'opened', email: 'x@y.fr' }] }, 'events[0].type'],
        [{ events: [{ type: 'delivered', email: 'x@y.fr' }, 'bounce'] }, 'events[1]'],
        [{ events: [{ type: 'bounce', email: 'x@y.fr', bounce_type: 'maybe' }] }, 'events[0].bounce_type'],
        [{ events: [{ type: 'bounce', email: 'x@y.fr', reason: 'full' }] }, 'events[0].reason'],
        [{ events: [{ type: 'bounce', email: 'x@y.fr', at: 'hier' }] }, 'events[0].at'],
        [{ type: 'bounce', email: 'pas-une-adresse' }, 'email'],
        [{ type: 'opened', email: 'x@y.fr' }, 'type'],
        [{ type: 'bounce', email: 'x@y.fr', bounce_type: 'maybe' }, 'bounce_type'],
      ];
      for (const [body, field] of cases) expectProblem(await call('POST', WEBHOOK, { body }), 400, field);
      expectProblem(await call('POST', WEBHOOK, { raw: 'type=bounce', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }), 400);
    });

    test("a single event's errors name the field as sent", async () => {
      // The body is the event itself: its fields are at the top level, as in {"type": ..., "email": ...}.
      expectProblem(await call('POST', WEBHOOK, { body: { type: 'bounce', email: 'x@y.fr', at: 'hier' } }), 400, 'at');
      expectProblem(await call('POST', WEBHOOK, { body: { type: 'bounce', email: 'x@y.fr', reason: 'full' } }), 400, 'reason');
      expectProblem(await call('POST', WEBHOOK, { body: { type: 'bounce', email: 42 } }), 400, 'email');
    });

    test('an event time before 1970 names the at field', async () => {
      const at = '1969-07-20T20:17:00Z';
      expectProblem(await call('POST', WEBHOOK, { body: { events: [{ type: 'bounce', email: 'x@y.fr', at }] } }), 400, 'events[0].at');
      expectProblem(await call('POST', WEBHOOK, { body: { type: 'bounce', email: 'x@y.fr', at } }), 400, 'at');
    });

    test('a raw DSN makes its recipient hard_bounce; clearing returns it to unverified', async () => {
      const c = await call('POST', '/api/v1/customers', { body: { first_name: 'Jean', last_name: 'Dupont', emails: [POSTFIX_RECIPIENT] } });
      assert.equal(c.status, 201, show(c));
      const r = await postDsn(POSTFIX_DSN);
      assert.equal(r.status, 200, show(r));
      assert.equal(r.body.recorded, 1);
      assert.equal(r.body.addresses[0].email, POSTFIX_RECIPIENT);
      const s = await status(POSTFIX_RECIPIENT);
      assert.equal(s.status, 'hard_bounce');
      assert.equal(s.last_code, '5.1.1');
      assert.equal(s.last_reason, 'mailbox_unknown');
      assert.equal(s.customer_id, c.body.id);
      // The same message sent as text/plain is read the same way.
      const again = await postDsn(POSTFIX_DSN.toString('utf8'), 'text/plain');
      assert.equal(again.status, 200, show(again));
      assert.equal(again.body.addresses[0].status, 'hard_bounce');

      const cleared = await call('POST', `${STATUS}/${encodeURIComponent(POSTFIX_RECIPIENT)}/clear`, { role: 'admin' });
      assert.equal(cleared.status, 200, show(cleared));
      assert.equal(cleared.body.status, 'unverified');
      assert.equal(cleared.body.soft_bounces, 0);
      assert.equal((await status(POSTFIX_RECIPIENT)).status, 'unverified');
      // The next delivery makes it valid.
      assert.equal((await hook({ type: 'delivered', email: POSTFIX_RECIPIENT })).addresses[0].status, 'valid');
      // Clearing escalated soft bounces too.
      for (let i = 0; i < 3; i++) await hook({ type: 'bounce', email: 'remi.noel@bbox.fr', status_code: '4.2.2' });
      const soft = await call('POST', `${STATUS}/remi.noel@bbox.fr/clear`);
      assert.equal(soft.status, 200, show(soft));
      assert.deepEqual([soft.body.status, soft.body.soft_bounces], ['unverified', 0]);
      expectProblem(await call('POST', `${STATUS}/pas-une-adresse/clear`), 400, 'email');
    });

    test('a body that is not a bounce gives 400 naming message', async () => {
      expectProblem(await postDsn(readFileSync(join(TESTDATA, 'garbage.bin')), 'message/rfc822'), 400, 'message');
      expectProblem(await postDsn('ceci n\'est pas un e-mail', 'text/plain'), 400, 'message');
      expectProblem(await postDsn('', 'message/rfc822'), 400, 'message');
      expectProblem(await postDsn(readFileSync(join(TESTDATA, 'not_a_bounce.eml'))), 400, 'message');
    });

    test('a postal address is flagged NPAI', async () => {
      const c = await call('POST', '/api/v1/customers', {
        body: { last_name: 'Garnier', address: { street: '3 place Bellecour', postcode: '69002', city: 'Lyon' } },
      });
      assert.equal(c.status, 201, show(c));
      const path = `/api/v1/customers/${c.body.id}/postal-npai`;
      const read = async () => {
        const g = await call('GET', path, { role: 'viewer' });
        assert.equal(g.status, 200, show(g));
        return g.body;
      };
      assert.deepEqual(await read(), { npai: false, reason: null, at: null, address_changed: false });
      const r = await call('POST', path);
      assert.equal(r.status, 204, show(r));
      assert.equal(r.text, '');
      const again = await call('POST', path, { body: { reason: 'courrier retourné : destinataire inconnu' } });
      assert.equal(again.status, 204, show(again));
      expectProblem(await call('POST', '/api/v1/customers/999999/postal-npai'), 404, 'id');
      expectProblem(await call('POST', '/api/v1/customers/abc/postal-npai'), 400, 'id');
      expectProblem(await call('POST', path, { body: { motif: 'retour' } }), 400, 'motif');
      expectProblem(await call('POST', path, { body: { reason: 12 } }), 400, 'reason');
      const flagged = await read();
      assert.equal(flagged.npai, true);
      assert.equal(flagged.reason, 'courrier retourné : destinataire inconnu');
      assert.ok(Date.parse(flagged.at) > 0, flagged.at);
      // The customer moves: the flag was for the former address.
      const moved = await call('PATCH', `/api/v1/customers/${c.body.id}`, {
        role: 'sales', body: { address: { street: '8 rue Mercière', postcode: '69002', city: 'Lyon' } }, headers: { 'If-Match': '"v1"' },
      });
      assert.equal(moved.status, 200, show(moved));
      assert.deepEqual(await read(), { ...flagged, npai: false, address_changed: true });
      // Flagged again at the new address, then cleared by someone who may.
      assert.equal((await call('POST', path)).status, 204);
      assert.equal((await read()).npai, true);
      assert.equal((await call('DELETE', path, { role: 'viewer' })).status, 403);
      assert.equal((await call('DELETE', path)).status, 204);
      assert.deepEqual(await read(), { npai: false, reason: null, at: null, address_changed: false });
      // Clearing again: nothing happens, and nothing is written to the audit log.
      assert.equal((await call('DELETE', path)).status, 204);
      assert.equal((await call('DELETE', path)).status, 204);
      expectProblem(await call('GET', '/api/v1/customers/999999/postal-npai', { role: 'viewer' }), 404, 'id');
      const audit = await call('GET', `/api/v1/audit?entity=customer&entity_id=${c.body.id}`, { role: 'admin' });
      assert.equal(audit.body.items.filter((e) => e.action === 'postal.npai').length, 3, show(audit));
      assert.equal(audit.body.items.filter((e) => e.action === 'postal.npai_cleared').length, 1, show(audit));
      const del = await call('DELETE', `/api/v1/customers/${c.body.id}`);
      assert.equal(del.status, 204, show(del));
      expectProblem(await call('POST', path), 404, 'id');
    });

    test('a postal NPAI reason is short plain text, and a customer without an address cannot be flagged', async () => {
      const c = await call('POST', '/api/v1/customers', {
        body: { last_name: 'Perrin', address: { street: '5 rue Victor Hugo', postcode: '69002', city: 'Lyon' } },
      });
      assert.equal(c.status, 201, show(c));
      const path = `/api/v1/customers/${c.body.id}/postal-npai`;
      expectProblem(await call('POST', path, { body: { reason: 'x'.repeat(501) } }), 400, 'reason');
      expectProblem(await call('POST', path, { body: { reason: 'x'.repeat(100_000) } }), 400, 'reason');
      expectProblem(await call('POST', path, { body: { reason: 'retour\u0000' } }), 400, 'reason');
      expectProblem(await call('POST', path, { body: { reason: 'retour\nexpéditeur' } }), 400, 'reason');
      assert.equal((await call('GET', path, { role: 'viewer' })).body.npai, false, 'a refused flag is not stored');
      const longest = 'é'.repeat(500);  // 500 characters, 1000 bytes
      assert.equal((await call('POST', path, { body: { reason: longest } })).status, 204);
      assert.equal((await call('GET', path, { role: 'viewer' })).body.reason, longest);

      const none = await call('POST', '/api/v1/customers', { body: { last_name: 'Nomade', emails: ['nomade@example.fr'] } });
      assert.equal(none.status, 201, show(none));
      const nonePath = `/api/v1/customers/${none.body.id}/postal-npai`;
      const refused = await call('POST', nonePath);
      expectProblem(refused, 409, 'address');
      assert.match(refused.body.detail, /no postal address/);
      assert.equal((await call('GET', nonePath, { role: 'viewer' })).body.npai, false);
      const audit = await call('GET', `/api/v1/audit?entity=customer&entity_id=${none.body.id}`, { role: 'admin' });
      assert.equal(audit.body.items.filter((e) => e.action.startsWith('postal.')).length, 0, show(audit));
    });

    test('agents, sales and viewers may read a status but not feed bounces or read the rates', async () => {
      for (const role of ['agent', 'sales', 'viewer']) {
        expectProblem(await call('POST', WEBHOOK, { role, body: { type: 'delivered', email: 'x@y.fr' } }), 403);
        expectProblem(await postDsn(POSTFIX_DSN, 'message/rfc822', role), 403);
        expectProblem(await call('POST', `${STATUS}/x@y.fr/clear`, { role }), 403);
        expectProblem(await call('GET', '/api/v1/npai', { role }), 403);
        expectProblem(await call('POST', '/api/v1/customers/1/postal-npai', { role }), 403);
        assert.equal((await call('GET', `${STATUS}/x@y.fr`, { role })).status, 200);
      }
      expectProblem(await api(server, 'POST', WEBHOOK, { body: { type: 'delivered', email: 'x@y.fr' } }), 401);
      expectProblem(await api(server, 'GET', `${STATUS}/x@y.fr`), 401);
      assert.equal((await hook({ type: 'delivered', email: 'admin-ok@y.fr' }, 'admin')).recorded, 1);
    });

    test('no alert on a small sample, however bad (default: at least 100 addresses)', async () => {
      const r = await call('GET', '/api/v1/npai', { role: 'admin' });
      assert.equal(r.status, 200, show(r));
      assert.ok(r.body.overall.sent > 0 && r.body.overall.sent < 100, show(r));
      assert.ok(r.body.overall.rate > 0.04, show(r));
      assert.equal(r.body.threshold, 0.04);
      assert.equal(r.body.alert, false);
      const metrics = await api(server, 'GET', '/metrics');
      assert.match(metrics.text, /^fidelis_npai_alert 0$/m);
    });
  });

  describe(`${driver}: NPAI rates`, () => {
    let server;
    let dir;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'fidelis-npai-'));
      writeFileSync(join(dir, 'boutique.csv'), csv(BOUTIQUE, 'Client'));
      writeFileSync(join(dir, 'salon.csv'), csv(SALON, 'Visiteur'));
      server = await startServer(driver, {
        env: { FIDELIS_NPAI_ALERT_MIN_SENT: '5' },
        setup: async (db) => {
          await cliOk(['--db', db, 'import', 'customers', join(dir, 'boutique.csv'), '--source', 'boutique']);
          await cliOk(['--db', db, 'import', 'customers', join(dir, 'salon.csv'), '--source', 'salon-2024']);
          // The same shop file read again under another name: it names the customers, brings no
          // address, and is charged with none (its source and import stay out of the rates).
          await cliOk(['--db', db, 'import', 'customers', join(dir, 'boutique.csv'), '--source', 'relecture']);
        },
      });
    });
    after(async () => {
      try {
        await server?.stop();
      } finally {
        if (dir) rmSync(dir, { recursive: true, force: true });
      }
    });

    const call = (method, path, opts = {}) => api(server, method, path, { role: 'marketer', ...opts });
    const hook = async (body) => {
      const r = await call('POST', WEBHOOK, { body });
      assert.equal(r.status, 200, show(r));
      return r.body;
    };
    const rates = async () => {
      const r = await call('GET', '/api/v1/npai');
      assert.equal(r.status, 200, show(r));
      return r.body;
    };
    const metric = async (name) => {
      const r = await api(server, 'GET', '/metrics');
      assert.equal(r.status, 200, show(r));
      const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(r.text);
      assert.ok(m, `${name} is not in /metrics`);
      return Number(m[1]);
    };
    const hard = (email) => ({ type: 'bounce', email, bounce_type: 'hard', status_code: '5.1.1' });
    const delivered = (email) => ({ type: 'delivered', email });
    const near = (actual, expected) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} != ${expected}`);

    // The tests below run in order on the same database.
    let importIds;

    test('rates overall, per source and per import', async () => {
      const imports = await call('GET', '/api/v1/imports');
      assert.equal(imports.status, 200, show(imports));
      importIds = Object.fromEntries(imports.body.items.map((i) => [i.source, String(i.id)]));
      assert.ok(importIds.boutique && importIds['salon-2024'], show(imports));

      const empty = await rates();
      assert.deepEqual(empty, {
        overall: { key: 'overall', sent: 0, hard_bounces: 0, rate: 0 }, by_source: [], by_import: [], threshold: 0.04, alert: false,
      });

      await hook({ events: [hard(BOUTIQUE[0]), hard(BOUTIQUE[1]), delivered(BOUTIQUE[2]), hard(SALON[0])] });
      const r = await rates();
      assert.deepEqual(r.overall, { key: 'overall', sent: 4, hard_bounces: 3, rate: 0.75 });
      const bySource = Object.fromEntries(r.by_source.map((x) => [x.key, x]));
      assert.deepEqual(Object.keys(bySource).sort(), ['boutique', 'salon-2024']);
      assert.deepEqual([bySource.boutique.sent, bySource.boutique.hard_bounces], [3, 2]);
      near(bySource.boutique.rate, 2 / 3);
      assert.deepEqual(bySource['salon-2024'], { key: 'salon-2024', sent: 1, hard_bounces: 1, rate: 1 });
      const byImport = Object.fromEntries(r.by_import.map((x) => [x.key, x]));
      assert.deepEqual(Object.keys(byImport).sort(), [importIds.boutique, importIds['salon-2024']].sort());
      assert.deepEqual([byImport[importIds.boutique].sent, byImport[importIds.boutique].hard_bounces], [3, 2]);
      assert.deepEqual([byImport[importIds['salon-2024']].sent, byImport[importIds['salon-2024']].hard_bounces], [1, 1]);
      // 75 % but only 4 addresses sent to: below the minimum sample (5 here), no alert.
      assert.equal(r.alert, false);
      assert.equal(await metric('fidelis_npai_alert'), 0);
      near(await metric('fidelis_npai_rate'), 0.75);
    });

    test('the alert flips when the rate passes the threshold with enough addresses', async () => {
      // 3 hard bounces out of 75: exactly 4 %, not above it.
      const readers = Array.from({ length: 70 }, (_, i) => delivered(`lecteur${i}@presse-locale.fr`));
      await hook({ events: [delivered(SALON[1]), ...readers] });
      let r = await rates();
      assert.deepEqual([r.overall.sent, r.overall.hard_bounces], [75, 3]);
      near(r.overall.rate, 0.04);
      assert.equal(r.alert, false, show({ status: 200, body: r }));
      assert.equal(await metric('fidelis_npai_alert'), 0);
      assert.deepEqual(r.by_source.find((x) => x.key === 'salon-2024'), { key: 'salon-2024', sent: 2, hard_bounces: 1, rate: 0.5 });

      // One more: 4 out of 76, above 4 %.
      await hook(hard(BOUTIQUE[3]));
      r = await rates();
      assert.deepEqual([r.overall.sent, r.overall.hard_bounces], [76, 4]);
      near(r.overall.rate, 4 / 76);
      assert.equal(r.alert, true);
      assert.equal(await metric('fidelis_npai_alert'), 1);
      assert.ok(Math.abs((await metric('fidelis_npai_rate')) - 4 / 76) < 1e-5);
      const boutique = r.by_source.find((x) => x.key === 'boutique');
      assert.deepEqual([boutique.sent, boutique.hard_bounces, boutique.rate], [4, 3, 0.75]);
      const imp = r.by_import.find((x) => x.key === importIds.boutique);
      assert.deepEqual([imp.sent, imp.hard_bounces, imp.rate], [4, 3, 0.75]);
    });

    test('the alert and its metric go down when clearing brings the rate back under the threshold', async () => {
      const cleared = await call('POST', `${STATUS}/${encodeURIComponent(BOUTIQUE[3])}/clear`);
      assert.equal(cleared.status, 200, show(cleared));
      const r = await rates();
      assert.deepEqual([r.overall.sent, r.overall.hard_bounces], [76, 3]);
      assert.equal(r.alert, false);
      assert.equal(await metric('fidelis_npai_alert'), 0, '/metrics agrees with GET /api/v1/npai');
    });
  });
}
