// The purchase journey by e-mail: an order placed through the API with a delivery slot, the
// confirmation e-mail received by a real SMTP server (references, quantities, prices, delivery
// terms, slot, tracking link), the tracking link followed, the slot moved, the shipping e-mail with
// the tracking number, each e-mail sent once even when its event repeats; then the visitor's
// browsing before the order joined to the profile with the order, a login on another device, a
// phone call, and the whole story on one timeline.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { drivers, startServer, api, show, sleep } from './harness.mjs';
import { startSmtp, receivedBy } from './smtp.mjs';


for (const driver of drivers()) {
  describe(driver, () => {
    let smtp;
    let server;
    before(async () => {
      smtp = await startSmtp();
      server = await startServer(driver, {
        env: { FIDELIS_SMTP_URL: smtp.url, FIDELIS_MAIL_FROM: 'Jardinerie Fidèle <commandes@exemple.fr>',
               FIDELIS_PUBLIC_URL: 'https://boutique.exemple.fr/' },
      });
    });
    after(async () => {
      try {
        await server?.stop();
      } finally {
        await smtp?.stop();
      }
    });

    test('confirmation and shipping e-mails, the tracking link and a moved slot', async () => {
      const as = (role) => (method, path, body) => api(server, method, path, { role, body });
      const sales = as('sales');
      const agent = as('agent');
      assert.equal((await as('marketer')('POST', '/api/v1/products', { sku: 'TON-42', name: 'Tondeuse électrique', price_minor: 19990, currency: 'EUR' })).status, 201);
      const zone = await agent('POST', '/api/v1/delivery/zones', { name: 'Lyon', postcodes: ['69'], utc_offset_minutes: 60 });
      assert.equal(zone.status, 201, show(zone));
      assert.equal((await agent('POST', '/api/v1/delivery/slot-templates', { zone_id: zone.body.id, weekdays: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '08:00', end: '20:00', length_minutes: 120, capacity: 4 })).status, 201);
      const day = new Date(Date.now() + 2 * 86_400_000);
      const from = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate())).toISOString();
      const to = new Date(Date.parse(from) + 86_400_000).toISOString();
      const slots = (await api(server, 'GET', `/api/v1/delivery/slots?postcode=69002&from=${from}&to=${to}`, { role: 'viewer' })).body.items;

      // Before ordering she browsed anonymously; the shop sends her visitor id with the order.
      const minutesAgo = (m) => new Date(Date.now() - m * 60_000).toISOString();
      const events = await api(server, 'POST', '/api/v1/tracking/events', { role: 'marketer', body: { events: [
        { visitor_id: 'v-helene', type: 'page_view', at: minutesAgo(90), url: 'https://boutique.exemple.fr/jardin?utm_medium=email&utm_source=newsletter' },
        { visitor_id: 'v-helene', type: 'product_view', at: minutesAgo(89), url: 'https://boutique.exemple.fr/p/ton-42', sku: 'TON-42' },
        { visitor_id: 'v-helene', type: 'cart_add', at: minutesAgo(88), sku: 'TON-42', quantity: 1 },
      ] } });
      assert.equal(events.status, 200, show(events));
      const badVisitor = await sales('POST', '/api/v1/orders', { number: 'CMD-X', visitor_id: 'pas un id !', customer: { email: 'x@exemple.fr' },
                                                                 lines: [{ sku: 'TON-42', quantity: 1 }] });
      assert.equal(badVisitor.status, 400, show(badVisitor));
      assert.equal(badVisitor.body.field, 'visitor_id');
      const placed = await sales('POST', '/api/v1/orders', {
        number: 'CMD-1001',
        visitor_id: 'v-helene',
        customer: { email: 'helene.levy@exemple.fr', first_name: 'Hélène', last_name: 'Lévy' },
        currency: 'EUR',
        lines: [{ sku: 'TON-42', quantity: 1 }, { sku: 'ENG-1', name: 'Engrais gazon', quantity: 2, unit_price_minor: 1290 }],
        shipping_minor: 590,
        delivery_address: { name: 'Hélène Lévy', street: '12 rue de la République', postcode: '69002', city: 'Lyon', country: 'FR' },
      });
      assert.equal(placed.status, 201, show(placed));
      const path = `/api/v1/orders/${placed.body.id}`;
      const booked = await sales('POST', `${path}/delivery-slot`, { starts_at: slots[0].starts_at });
      assert.equal(booked.status, 201, show(booked));
      const moved = await sales('PUT', `${path}/delivery-slot`, { starts_at: slots[2].starts_at });
      assert.equal(moved.status, 200, show(moved));

      assert.equal((await sales('POST', `${path}/transitions`, { status: 'confirmed' })).status, 200);
      const [confirmation] = await receivedBy(smtp, 'helene.levy@exemple.fr', 1);
      assert.equal(confirmation.headers.Subject, 'Votre commande CMD-1001 est confirmée');
      assert.equal(confirmation.headers.To, 'Hélène Lévy <helene.levy@exemple.fr>');
      const text = confirmation.parts[0].text;
      assert.match(text, /^Bonjour Hélène,/);
      assert.match(text, /- Tondeuse électrique \(réf\. TON-42\) : 1 × 199,90\u00a0€ = 199,90\u00a0€/);
      assert.match(text, /- Engrais gazon \(réf\. ENG-1\) : 2 × 12,90\u00a0€ = 25,80\u00a0€/);
      assert.match(text, /Frais de livraison : 5,90\u00a0€/);
      assert.match(text, /Total : 231,60\u00a0€/);
      assert.match(text, /Livraison à domicile/);
      assert.match(text, /12 rue de la République/);
      assert.match(text, /Créneau de livraison : \S+ \d+(er)? \S+, \d+\u00a0h – \d+\u00a0h/);
      const link = text.match(/Suivre votre commande : (\S+)/)[1];
      assert.ok(link.startsWith('https://boutique.exemple.fr/api/v1/track/'), link);

      // The customer follows the link from the e-mail.
      const tracked = await api(server, 'GET', link.slice('https://boutique.exemple.fr'.length));
      assert.equal(tracked.status, 200, show(tracked));
      assert.equal(tracked.body.status, 'confirmed');
      assert.equal(tracked.body.delivery_slot.starts_at, slots[2].starts_at);

      const shipped = await sales('POST', `${path}/shipments`, { carrier: 'Colissimo', tracking_number: '6A12345678', tracking_url: 'https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678' });
      assert.equal(shipped.status, 201, show(shipped));
      const both = await receivedBy(smtp, 'helene.levy@exemple.fr', 2);
      const shipping = both[1];
      assert.match(shipping.headers.Subject, /CMD-1001/);
      assert.match(shipping.parts[0].text, /Numéro de suivi : 6A12345678/);
      assert.match(shipping.parts[0].text, /laposte\.fr\/outils\/suivre-vos-envois\?code=6A12345678/);

      // A second parcel repeats the "shipped" event: no second shipping e-mail.
      assert.equal((await sales('POST', `${path}/shipments`, { carrier: 'Colissimo', tracking_number: '6A99' })).status, 201);
      await sleep(1500);
      assert.equal(smtp.messages().filter((m) => m.rcpt_tos.includes('helene.levy@exemple.fr')).length, 2);
      // The outbox records "sent" once the SMTP server has answered: polled, not assumed.
      let outbox;
      for (const end = Date.now() + 30_000; ;) {
        outbox = await api(server, 'GET', `/api/v1/mail/messages?customer_id=${placed.body.customer_id}`, { role: 'agent' });
        assert.equal(outbox.status, 200, show(outbox));
        if (outbox.body.items.every((m) => m.status === 'sent') || Date.now() > end) break;
        await sleep(100);
      }
      assert.deepEqual(outbox.body.items.map((m) => m.status).sort(), ['sent', 'sent']);

      // The visits before the order joined her profile with the order; a later login on another
      // device joins that one too.
      const customerId = placed.body.customer_id;
      const counters = await api(server, 'GET', `/api/v1/customers/${customerId}/web-counters`, { role: 'viewer' });
      assert.equal(counters.body.events, 3, show(counters));
      await api(server, 'POST', '/api/v1/tracking/events', { role: 'marketer', body: { events: [
        { visitor_id: 'v-helene-mobile', type: 'page_view', at: minutesAgo(5), url: 'https://boutique.exemple.fr/compte' }] } });
      const ident = await api(server, 'POST', '/api/v1/tracking/identify', { role: 'marketer', body: { visitor_id: 'v-helene-mobile', customer_id: customerId } });
      assert.equal(ident.status, 200, show(ident));
      assert.equal(ident.body.events_attributed, 1);
      const call = await api(server, 'POST', '/api/v1/interactions', { role: 'agent', body: {
        customer_id: customerId, channel: 'call', direction: 'inbound', subject: 'Question sur la livraison', outcome: 'résolu' } });
      assert.equal(call.status, 201, show(call));

      const timeline = await api(server, 'GET', `/api/v1/customers/${customerId}/timeline?limit=100`, { role: 'viewer' });
      assert.equal(timeline.status, 200, show(timeline));
      const kinds = new Set(timeline.body.items.map((i) => i.kind));
      for (const kind of ['order', 'order_status', 'shipment', 'email', 'web_session', 'interaction'])
        assert.ok(kinds.has(kind), `the timeline lacks ${kind}: ${[...kinds].join(', ')}`);
      const times = timeline.body.items.map((i) => Date.parse(i.at));
      assert.ok(times.every(Number.isFinite), show(timeline));
      assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
      const sessions = timeline.body.items.filter((i) => i.kind === 'web_session');
      assert.deepEqual(sessions.map((i) => i.details.source), ['direct', 'email'], show(timeline));
      const onlyOrders = await api(server, 'GET', `/api/v1/customers/${customerId}/timeline?kind=order,shipment`, { role: 'viewer' });
      assert.ok(onlyOrders.body.items.length >= 3 && onlyOrders.body.items.every((i) => ['order', 'shipment'].includes(i.kind)), show(onlyOrders));
    });
  });
}
