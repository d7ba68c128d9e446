// Orders, tracking and delivery slots over HTTP, on both databases: creation and idempotency,
// batches, the workflow, returns, shipments, the public tracking page, slots, and the CSV import.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drivers, startServer, api, show, cli, tamper } from './harness.mjs';

const order = (number, extra = {}) => ({
  number,
  customer: { email: `${number.toLowerCase()}@exemple.fr`, first_name: 'Jeanne', last_name: 'Dupont' },
  currency: 'EUR',
  lines: [
    { sku: 'ENG-1', quantity: 2 },
    { sku: 'GANTS', name: 'Gants de jardin', quantity: 1, unit_price_minor: 990, discount_minor: 100 },
  ],
  shipping_minor: 490,
  delivery_address: { name: 'Jeanne Dupont', street: '12 rue de la République', postcode: '69002', city: 'Lyon', country: 'FR' },
  ...extra,
});

for (const driver of drivers()) {
  describe(driver, () => {
    let server;
    const as = (role) => (method, path, body, headers) => api(server, method, path, { role, body, headers });
    const sales = as('sales');
    const viewer = as('viewer');
    const anon = (path) => api(server, 'GET', path);

    before(async () => {
      server = await startServer(driver);
      const p = await as('marketer')('POST', '/api/v1/products', { sku: 'ENG-1', name: 'Engrais gazon', price_minor: 1250, currency: 'EUR' });
      assert.equal(p.status, 201, show(p));
    });
    after(async () => {
      await server?.stop();
    });

    test('create, repeat by number and by Idempotency-Key, conflicting content', async () => {
      const c = await sales('POST', '/api/v1/orders', order('CMD-100'), { 'Idempotency-Key': 'k-100' });
      assert.equal(c.status, 201, show(c));
      assert.equal(c.body.total_minor, 2 * 1250 + 990 - 100 + 490);
      assert.equal(c.body.lines[0].name, 'Engrais gazon');
      assert.equal(c.body.status, 'placed');
      assert.equal(c.body.history.length, 1);
      assert.match(c.body.tracking_link, /^\/api\/v1\/track\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      const replay = await sales('POST', '/api/v1/orders', order('CMD-100'), { 'Idempotency-Key': 'k-100' });
      assert.equal(replay.status, 201);
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.equal(replay.body.id, c.body.id);
      const same = await sales('POST', '/api/v1/orders', order('CMD-100'));
      assert.equal(same.status, 200, show(same));
      assert.equal(same.body.id, c.body.id);
      const other = await sales('POST', '/api/v1/orders', order('CMD-100', { shipping_minor: 0 }));
      assert.equal(other.status, 409, show(other));
      assert.equal(other.body.field, 'number');
      const badTotal = await sales('POST', '/api/v1/orders', order('CMD-101', { total_minor: 1 }));
      assert.equal(badTotal.status, 400);
      assert.equal(badTotal.body.field, 'total_minor');
      assert.equal((await viewer('POST', '/api/v1/orders', order('CMD-102'))).status, 403);
      // The customer was created from the order, and the order is theirs.
      const mine = await viewer('GET', `/api/v1/customers/${c.body.customer_id}/orders`);
      assert.equal(mine.status, 200, show(mine));
      assert.deepEqual(mine.body.items.map((o) => o.number), ['CMD-100']);
      const list = await viewer('GET', `/api/v1/orders?customer_id=${c.body.customer_id}&status=placed`);
      assert.equal(list.body.items.length, 1);
      assert.equal((await viewer('GET', '/api/v1/orders?status=lost')).body.field, 'status');
    });

    test('a batch keeps the good orders and names what is wrong in the bad one', async () => {
      const bad = order('B-2');
      bad.lines[0].quantity = 0;
      const r = await sales('POST', '/api/v1/orders/batch', { orders: [order('B-1'), bad, order('B-3'), order('B-1')] });
      assert.equal(r.status, 200, show(r));
      assert.deepEqual(r.body.results.map((x) => x.result), ['created', 'error', 'created', 'existing']);
      assert.equal(r.body.results[1].field, 'orders[1].lines[0].quantity');
      assert.equal(r.body.created, 2);
      assert.equal(r.body.errors, 1);
      const tooMany = await sales('POST', '/api/v1/orders/batch', { orders: Array.from({ length: 501 }, (_, i) => order(`X-${i}`)) });
      assert.equal(tooMany.status, 400);
      assert.equal(tooMany.body.field, 'orders');
    });

    test('workflow, invalid transitions, partial returns, shipments and public tracking', async () => {
      const c = await sales('POST', '/api/v1/orders', order('W-1'));
      assert.equal(c.status, 201, show(c));
      const path = `/api/v1/orders/${c.body.id}`;
      const bad = await sales('POST', `${path}/transitions`, { status: 'shipped' });
      assert.equal(bad.status, 409, show(bad));
      assert.equal(bad.body.field, 'status');
      assert.equal((await sales('POST', `${path}/transitions`, { status: 'confirmed' })).status, 200);
      assert.equal((await sales('POST', `${path}/transitions`, { status: 'placed' })).status, 409);
      const ship = await sales('POST', `${path}/shipments`, { carrier: 'Colissimo', tracking_number: '6A12345', tracking_url: 'https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345' });
      assert.equal(ship.status, 201, show(ship));
      assert.equal(ship.body.status, 'shipped');
      const cancel = await sales('POST', `${path}/transitions`, { status: 'cancelled' });
      assert.equal(cancel.status, 409);
      assert.equal(cancel.body.field, 'status');
      assert.equal((await sales('POST', `${path}/transitions`, { status: 'delivered' })).status, 200);
      assert.equal((await sales('POST', `${path}/transitions`, { status: 'confirmed' })).status, 409);

      const part = await sales('POST', `${path}/returns`, { lines: [{ sku: 'ENG-1', quantity: 1, reason: 'sac percé' }] });
      assert.equal(part.status, 200, show(part));
      assert.equal(part.body.status, 'delivered');
      assert.equal(part.body.lines[0].returned_quantity, 1);
      const tooMuch = await sales('POST', `${path}/returns`, { lines: [{ sku: 'ENG-1', quantity: 2, reason: 'x' }] });
      assert.equal(tooMuch.status, 400);
      assert.equal(tooMuch.body.field, 'lines[0].quantity');

      // The payment: paid, then partly refunded for the returned bag; a refund cannot be unpaid.
      const paid = await sales('POST', `${path}/payment`, { payment_state: 'paid' });
      assert.equal(paid.status, 200, show(paid));
      assert.equal(paid.body.payment_state, 'paid');
      assert.equal((await sales('POST', `${path}/payment`, { payment_state: 'partially_refunded' })).body.payment_state, 'partially_refunded');
      const back = await sales('POST', `${path}/payment`, { payment_state: 'pending' });
      assert.equal(back.status, 409, show(back));
      assert.equal(back.body.field, 'payment_state');
      const unknownState = await sales('POST', `${path}/payment`, { payment_state: 'gratuit' });
      assert.equal(unknownState.status, 400);
      assert.equal(unknownState.body.field, 'payment_state');
      assert.equal((await viewer('POST', `${path}/payment`, { payment_state: 'refunded' })).status, 403);

      const got = await viewer('GET', path);
      assert.deepEqual(got.body.history.map((h) => h.status), ['placed', 'confirmed', 'shipped', 'delivered']);

      // Public tracking: by number + e-mail, by postcode, by the signed link.
      const byEmail = await anon(`/api/v1/track?order=W-1&email=${encodeURIComponent('W-1@Exemple.fr')}`);
      assert.equal(byEmail.status, 200, show(byEmail));
      assert.equal(byEmail.body.status, 'delivered');
      assert.equal(byEmail.body.shipments[0].tracking_number, '6A12345');
      assert.deepEqual(byEmail.body.lines.map((l) => [l.name, l.quantity, l.returned_quantity]), [['Engrais gazon', 2, 1], ['Gants de jardin', 1, 0]]);
      const text = JSON.stringify(byEmail.body);
      for (const secret of ['customer_id', '"id"', 'notes', 'price', 'w-1@exemple.fr', 'Dupont'])
        assert.ok(!text.includes(secret), `the public view shows ${secret}: ${text}`);
      // A link in an e-mail as mail clients and trackers rewrite it: what it adds is ignored.
      const decorated = await anon(`/api/v1/track?order=W-1&email=${encodeURIComponent('w-1@exemple.fr')}&utm_source=email&fbclid=abc`);
      assert.equal(decorated.status, 200, show(decorated));
      const byPostcode = await anon('/api/v1/track?order=W-1&postcode=69%20002');
      assert.equal(byPostcode.status, 200, show(byPostcode));
      const byLink = await anon(got.body.tracking_link);
      assert.equal(byLink.status, 200, show(byLink));
      assert.equal(byLink.body.number, 'W-1');
      const wrong = await anon('/api/v1/track?order=W-1&email=someone%40else.fr');
      const unknown = await anon('/api/v1/track?order=NOPE-1&email=w-1%40exemple.fr');
      assert.equal(wrong.status, 404);
      assert.equal(unknown.status, 404);
      assert.equal(wrong.body.detail, unknown.body.detail);
      assert.equal((await anon('/api/v1/track?order=W-1&postcode=75001')).status, 404);
      assert.equal((await anon(tamper(got.body.tracking_link, 3))).status, 404);
      assert.equal((await anon('/api/v1/track?order=W-1')).status, 400);
    });

    test('delivery slots: availability, book, reschedule, release, full slot, promise rate', async () => {
      const agent = as('agent');
      const z = await agent('POST', '/api/v1/delivery/zones', { name: 'Lyon', postcodes: ['69', '01700'], utc_offset_minutes: 60 });
      assert.equal(z.status, 201, show(z));
      assert.equal((await sales('POST', '/api/v1/delivery/zones', { name: 'X', postcodes: ['75'] })).status, 403);
      const dup = await agent('POST', '/api/v1/delivery/zones', { name: 'Autre', postcodes: ['69'] });
      assert.equal(dup.status, 409);
      assert.equal(dup.body.field, 'postcodes[0]');
      const t = await agent('POST', '/api/v1/delivery/slot-templates', { zone_id: z.body.id, weekdays: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '08:00', end: '20:00', length_minutes: 120, capacity: 1 });
      assert.equal(t.status, 201, show(t));

      // Tomorrow's slots, seen from the API.
      const day = new Date(Date.now() + 86_400_000);
      const from = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate())).toISOString();
      const to = new Date(Date.parse(from) + 86_400_000).toISOString();
      const slots = await viewer('GET', `/api/v1/delivery/slots?postcode=69002&from=${from}&to=${to}`);
      assert.equal(slots.status, 200, show(slots));
      assert.equal(slots.body.items.length, 6);
      assert.ok(slots.body.items.every((s) => s.free === 1));
      const [first, second] = slots.body.items;
      assert.equal((await viewer('GET', `/api/v1/delivery/slots?postcode=75001&from=${from}&to=${to}`)).status, 404);

      const a = (await sales('POST', '/api/v1/orders', order('S-1'))).body;
      const b = (await sales('POST', '/api/v1/orders', order('S-2'))).body;
      const booked = await sales('POST', `/api/v1/orders/${a.id}/delivery-slot`, { starts_at: first.starts_at });
      assert.equal(booked.status, 201, show(booked));
      assert.equal(booked.body.free, 0);
      const full = await sales('POST', `/api/v1/orders/${b.id}/delivery-slot`, { starts_at: first.starts_at });
      assert.equal(full.status, 409, show(full));
      assert.equal(full.body.field, 'starts_at');
      const moved = await sales('PUT', `/api/v1/orders/${a.id}/delivery-slot`, { starts_at: second.starts_at });
      assert.equal(moved.status, 200, show(moved));
      assert.equal(moved.body.starts_at, second.starts_at);
      assert.equal((await sales('POST', `/api/v1/orders/${b.id}/delivery-slot`, { starts_at: first.starts_at })).status, 201);
      assert.equal((await sales('DELETE', `/api/v1/orders/${a.id}/delivery-slot`)).status, 204);
      assert.equal((await viewer('GET', `/api/v1/orders/${a.id}/delivery-slot`)).status, 404);
      const after = await viewer('GET', `/api/v1/delivery/slots?postcode=69002&from=${from}&to=${to}`);
      assert.deepEqual(after.body.items.slice(0, 2).map((s) => s.free), [0, 1]);
      // The tracking page shows the slot.
      const tracked = await anon('/api/v1/track?order=S-2&postcode=69002');
      assert.equal(tracked.body.delivery_slot.starts_at, first.starts_at);

      const rate = await viewer('GET', `/api/v1/delivery/promise-rate?zone=Lyon&from=${from}&to=${to}`);
      assert.equal(rate.status, 200, show(rate));
      assert.deepEqual([rate.body.kept, rate.body.late, rate.body.total], [0, 0, 0]);
      assert.equal((await viewer('GET', `/api/v1/delivery/promise-rate?zone=Nowhere&from=${from}&to=${to}`)).status, 404);
    });

    test('fidelis import orders: CSV history with a rejected line', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fidelis-orders-'));
      try {
        const file = join(dir, 'commandes.csv');
        writeFileSync(file, Buffer.from(
          'Numéro commande;Date;E-mail;Prénom;Nom;Code postal;SKU;Libellé;Quantité;Prix unitaire;Statut\n' +
          'H-1;2025-03-01;paul@exemple.fr;Paul;Martin;69002;ENG-1;;2;12,50;delivered\n' +
          'H-1;2025-03-01;paul@exemple.fr;Paul;Martin;69002;GANTS;Gants;1;9,90;delivered\n' +
          'H-2;2025-03-02;lea@exemple.fr;Léa;Petit;75011;ENG-1;;beaucoup;12,50;placed\n', 'latin1'));
        const r = await cli(['--db', server.db, 'import', 'orders', file, '--source', 'prestashop']);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stdout, /1 orders created/);
        assert.match(r.stdout, /1 rejected/);
        const rejects = readFileSync(`${file}.rejects.csv`, 'utf8');
        assert.match(rejects, /^\uFEFFline;column;reason;order_number;original/);
        assert.match(rejects, /4;Quantité;expected a whole number/);
        const list = await viewer('GET', '/api/v1/orders?status=delivered');
        const h1 = list.body.items.find((o) => o.number === 'H-1');
        assert.ok(h1, show(list));
        assert.equal(h1.total_minor, 2500 + 990);
        assert.equal(h1.source, 'prestashop');

        // A line that cannot be read rejects its whole order, never imports it short of a line;
        // one whose order number cannot be read rejects the orders on both sides of it.
        const broken = join(dir, 'cassees.csv');
        writeFileSync(broken,
          'Numéro commande;Date;E-mail;SKU;Quantité;Prix unitaire\n' +
          'Q-1;2025-04-01;anne@exemple.fr;ENG-1;1;12,50\n' +
          'Q-1;2025-04-01;anne@exemple.fr;GANTS "L";1;9,90\n' +
          'Q-1;2025-04-01;anne@exemple.fr;ENG-2;1;5,00\n' +
          'Q-2;2025-04-02;marc@exemple.fr;ENG-1;1;12,50\n' +
          '"Q-3"x;2025-04-02;marc@exemple.fr;ENG-1;1;12,50\n' +
          'Q-4;2025-04-03;zoe@exemple.fr;ENG-1;1;12,50\n' +
          'Q-5;2025-04-04;ines@exemple.fr;ENG-1;1;12,50\n');
        const b = await cli(['--db', server.db, 'import', 'orders', broken, '--source', 'prestashop']);
        assert.equal(b.code, 1, b.stdout + b.stderr);
        assert.match(b.stdout, /7 lines read, 1 orders created, 0 already known, 3 rejected \(6 lines\)/, b.stdout);
        const lines = readFileSync(`${broken}.rejects.csv`, 'utf8');
        assert.match(lines, /\n3;SKU;line 3: the quoting is broken/);
        assert.match(lines, /\n6;Numéro commande;line 6: the quoting is broken/);
        assert.match(lines, /\n5;;line 6 of the file could not be read[^\n]*\n6;/);  // in the file's order
        assert.match(lines, /;"Q-1;2025-04-01;anne@exemple\.fr;GANTS ""L"";1;9,90"\r\n/);
        const numbers = (await viewer('GET', '/api/v1/orders?limit=100')).body.items.map((o) => o.number);
        assert.ok(numbers.includes('Q-5'), numbers.join());
        for (const n of ['Q-1', 'Q-2', 'Q-4']) assert.ok(!numbers.includes(n), `${n} in ${numbers.join()}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
