// Transactional e-mail over HTTP, delivered by the server's worker to a real SMTP server:
// what arrives (decoded French headers, both parts in UTF-8), deduplication, refusals, retries,
// template versions with validation and preview, and `fidelis mail send-pending`.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { drivers, startServer, api, show, cliOk, sleep } from './harness.mjs';
import { startSmtp, waitForMessage } from './smtp.mjs';

const ORDER = {
  customer: { first_name: 'Hélène' },
  order: {
    number: 'CMD-2026-0042',
    lines: [
      { name: 'Tondeuse électrique', sku: 'TON-42', quantity: 1, unit_price: { minor: 19990, currency: 'EUR' }, total: { minor: 19990, currency: 'EUR' } },
      { name: 'Engrais gazon', sku: 'ENG-1', quantity: 2, unit_price: { minor: 1290, currency: 'EUR' }, total: { minor: 2580, currency: 'EUR' } },
    ],
    total: { minor: 22570, currency: 'EUR' },
  },
  delivery: { method: 'Colissimo à domicile', address_lines: ['12 rue de la République', '69002 Lyon'], slot: 'mardi 20 janvier, 8 h – 13 h' },
  shop: { name: 'Boutique Éléonore' },
};

for (const driver of drivers()) {
  describe(driver, () => {
    let smtp;
    let server;
    before(async () => {
      smtp = await startSmtp();
      server = await startServer(driver, {
        env: {
          FIDELIS_SMTP_URL: smtp.url,
          FIDELIS_MAIL_FROM: 'Boutique Éléonore <noreply@exemple.fr>',
          FIDELIS_MAIL_MAX_ATTEMPTS: '2',
          FIDELIS_MAIL_RETRY_BASE_MS: '300',
        },
      });
    });
    after(async () => {
      try {
        await server?.stop();
      } finally {
        await smtp?.stop();
      }
    });

    const queue = (body, role = 'marketer') => api(server, 'POST', '/api/v1/mail/messages', { role, body });

    test('an order confirmation is sent once, decoded and complete', async () => {
      const body = { template_key: 'order_confirmation', locale: 'fr', to_email: 'helene@exemple.fr', to_name: 'Hélène Dupré',
        context: ORDER, dedup_key: 'order_confirmation:CMD-2026-0042', customer_id: 42 };
      const q = await queue(body);
      assert.equal(q.status, 201, show(q));
      assert.equal(q.body.subject, 'Votre commande CMD-2026-0042 est confirmée');
      assert.equal(q.body.template_version, 1);
      assert.match(q.body.text, /Total : 225,70\u00a0€/);
      // The event repeats: nothing more is queued.
      const again = await queue(body);
      assert.equal(again.status, 200, show(again));
      assert.equal(again.body.id, q.body.id);

      const sent = await waitForMessage(server, q.body.id, (m) => m.status === 'sent', 'sent');
      assert.equal(sent.attempts, 1);
      assert.equal(sent.last_code, 250);
      assert.match(sent.last_reply, /^250 /);
      assert.ok(sent.sent_at);

      const received = smtp.messages().filter((m) => m.rcpt_tos.includes('helene@exemple.fr'));
      assert.equal(received.length, 1, 'sent exactly once');
      const m = received[0];
      assert.equal(m.mail_from, 'noreply@exemple.fr');
      assert.equal(m.headers.Subject, 'Votre commande CMD-2026-0042 est confirmée');
      assert.equal(m.headers.From, 'Boutique Éléonore <noreply@exemple.fr>');
      assert.equal(m.headers.To, 'Hélène Dupré <helene@exemple.fr>');
      assert.equal(m.headers['Message-Id'], `<${sent.message_id}>`);
      assert.equal(m.headers['X-Fidelis-Message-Id'], `mail-${sent.id}`);
      assert.ok(m.headers.Date);
      // On the wire the accents are RFC 2047 encoded-words: the headers are pure ASCII.
      const head = m.raw.slice(0, m.raw.indexOf('\r\n\r\n'));
      assert.match(head, /^Subject: .*=\?UTF-8\?[BQ]\?/im);
      assert.doesNotMatch(head, /[^\x00-\x7f]/);
      assert.equal(m.content_type, 'multipart/alternative');
      assert.deepEqual(m.parts.map((p) => [p.content_type, p.charset]), [['text/plain', 'utf-8'], ['text/html', 'utf-8']]);
      assert.match(m.parts[0].text, /^Bonjour Hélène,/);
      assert.match(m.parts[0].text, /- Tondeuse électrique \(réf\. TON-42\) : 1 × 199,90\u00a0€ = 199,90\u00a0€/);
      assert.match(m.parts[0].text, /Créneau de livraison : mardi 20 janvier, 8 h – 13 h/);
      assert.match(m.parts[0].text, /L’équipe Boutique Éléonore/);
      assert.match(m.parts[1].text, /<td>Engrais gazon<\/td>/);

      const list = await api(server, 'GET', '/api/v1/mail/messages?customer_id=42', { role: 'agent' });
      assert.equal(list.status, 200, show(list));
      assert.deepEqual(list.body.items.map((i) => i.id), [q.body.id]);
      assert.equal(list.body.items[0].text, undefined);

      // The server's acceptance makes the address count as sent to; its status is left to the
      // provider's reports (a relay's acceptance is no delivery to the mailbox).
      const status = await api(server, 'GET', '/api/v1/email-status/helene@exemple.fr', { role: 'viewer' });
      assert.equal(status.status, 200, show(status));
      assert.equal(status.body.status, 'unverified');
      assert.equal(status.body.sent, true);
    });

    test('a refused recipient fails with the reply; a failed message can be sent again', async () => {
      const q = await queue({ template_key: 'order_shipped', locale: 'en', to_email: 'reject.me@exemple.fr', context: ORDER });
      assert.equal(q.status, 201, show(q));
      const failed = await waitForMessage(server, q.body.id, (m) => m.status === 'failed', 'failed');
      assert.equal(failed.attempts, 1, 'a 5xx is not retried');
      assert.equal(failed.last_code, 550);
      assert.equal(failed.last_reply, '550 5.1.1 <reject.me@exemple.fr>: mailbox unavailable');
      const listed = await api(server, 'GET', '/api/v1/mail/messages?status=failed', { role: 'marketer' });
      assert.ok(listed.body.items.some((i) => i.id === q.body.id), show(listed));

      const path = `/api/v1/mail/messages/${q.body.id}/retry`;
      assert.equal((await api(server, 'POST', path, { role: 'agent' })).status, 403);
      const retried = await api(server, 'POST', path, { role: 'marketer' });
      assert.equal(retried.status, 200, show(retried));
      assert.ok(['queued', 'sending', 'failed'].includes(retried.body.status), show(retried));
      // 5.1.1 refuses the address itself: it is NPAI now, and nothing more is sent to it.
      const npai = await api(server, 'GET', '/api/v1/email-status/reject.me@exemple.fr', { role: 'viewer' });
      assert.equal(npai.body.status, 'hard_bounce', show(npai));
      assert.equal(npai.body.sent, true);
      const again = await waitForMessage(server, q.body.id, (m) => m.status === 'failed' && m.updated_at > failed.updated_at, 'failed again');
      assert.equal(again.attempts, 0, 'nothing was sent: no attempt counted');
      assert.equal(again.last_reply, 'not sent: the address is NPAI (hard bounce 5.1.1)');
      assert.equal(again.last_code, 0);
      // Once an admin says the address works again, it is tried again (and refused again here).
      const cleared = await api(server, 'POST', '/api/v1/email-status/reject.me@exemple.fr/clear', { role: 'admin' });
      assert.equal(cleared.status, 200, show(cleared));
      assert.equal((await api(server, 'POST', path, { role: 'marketer' })).status, 200);
      const third = await waitForMessage(server, q.body.id, (m) => m.status === 'failed' && m.updated_at > again.updated_at, 'failed a third time');
      assert.equal(third.last_code, 550);
      // Only a failed message goes back to the queue.
      const other = await queue({ template_key: 'order_shipped', to_email: 'ok@exemple.fr' });
      const notFailed = await api(server, 'POST', `/api/v1/mail/messages/${other.body.id}/retry`, { role: 'admin' });
      assert.equal(notFailed.status, 412, show(notFailed));
      assert.equal(notFailed.body.field, 'status');
    });

    test('nothing is sent to an address that complained; an unsubscribed one still gets its order mail', async () => {
      for (const [type, email] of [['complaint', 'plainte@exemple.fr'], ['unsubscribe', 'desabonne@exemple.fr']]) {
        const r = await api(server, 'POST', '/api/v1/bounces/webhook', { role: 'marketer', body: { type, email } });
        assert.equal(r.status, 200, show(r));
      }
      const complained = await queue({ template_key: 'order_confirmation', to_email: 'plainte@exemple.fr', context: ORDER });
      const unsubscribed = await queue({ template_key: 'order_confirmation', to_email: 'desabonne@exemple.fr', context: ORDER });
      const refused = await waitForMessage(server, complained.body.id, (m) => m.status === 'failed', 'failed');
      assert.equal(refused.last_reply, 'not sent: the recipient reported a message as spam');
      await waitForMessage(server, unsubscribed.body.id, (m) => m.status === 'sent', 'sent');
      assert.equal(smtp.messages().filter((m) => m.rcpt_tos.includes('plainte@exemple.fr')).length, 0);
      assert.equal(smtp.messages().filter((m) => m.rcpt_tos.includes('desabonne@exemple.fr')).length, 1);
    });

    test('a temporary refusal is retried, then fails after the last attempt', async () => {
      const q = await queue({ template_key: 'order_confirmation', to_email: 'tempfail@exemple.fr', context: ORDER });
      assert.equal(q.status, 201, show(q));
      const first = await waitForMessage(server, q.body.id, (m) => m.attempts >= 1 && m.status !== 'sending', 'a first attempt');
      if (first.status === 'queued') {
        assert.equal(first.last_code, 451);
        assert.ok(Date.parse(first.next_attempt_at) > Date.parse(first.updated_at) - 1);
      }
      const failed = await waitForMessage(server, q.body.id, (m) => m.status === 'failed', 'failed');
      assert.equal(failed.attempts, 2);
      assert.equal(failed.last_code, 451);
      assert.match(failed.last_reply, /^451 4\.3\.0 /);
      assert.equal(failed.next_attempt_at, null);
    });

    test('bad requests name the field', async () => {
      const cases = [
        [{ to_email: 'a@exemple.fr' }, 400, 'template_key'],
        [{ template_key: 'order_shipped', to_email: 'nope' }, 400, 'to_email'],
        [{ template_key: 'order_shipped', to_email: 'a@exemple.fr', locale: 'de' }, 400, 'locale'],
        [{ template_key: 'order_shipped', to_email: 'a@exemple.fr', context: [1] }, 400, 'context'],
        [{ template_key: 'nope', to_email: 'a@exemple.fr' }, 404, 'template_key'],
        [{ template_key: 'order_shipped', to_email: 'a@exemple.fr', extra: 1 }, 400, 'extra'],
      ];
      for (const [body, status, field] of cases) {
        const r = await queue(body);
        assert.equal(r.status, status, `${JSON.stringify(body)}: ${show(r)}`);
        assert.equal(r.body.field, field, show(r));
      }
      assert.equal((await queue({ template_key: 'order_shipped', to_email: 'a@exemple.fr' }, 'agent')).status, 403);
      const badStatus = await api(server, 'GET', '/api/v1/mail/messages?status=lost', { role: 'agent' });
      assert.equal(badStatus.status, 400);
      assert.equal(badStatus.body.field, 'status');
      assert.equal((await api(server, 'GET', '/api/v1/mail/messages', { role: 'sales' })).status, 403);
      assert.equal((await api(server, 'GET', '/api/v1/mail/messages/999999', { role: 'agent' })).status, 404);
    });

    test('templates: versions, validation and preview', async () => {
      const list = await api(server, 'GET', '/api/v1/mail/templates', { role: 'agent' });
      assert.equal(list.status, 200, show(list));
      assert.deepEqual(list.body.items.map((t) => `${t.key}/${t.locale}`),
        ['order_confirmation/en', 'order_confirmation/fr', 'order_shipped/en', 'order_shipped/fr']);

      const path = '/api/v1/mail/templates/order_shipped/fr';
      const broken = await api(server, 'PUT', path, { role: 'marketer', body: { subject: 'Expédiée', text: '{{#order.lines}}oups', html: '<p></p>' } });
      assert.equal(broken.status, 422, show(broken));
      assert.equal(broken.body.field, 'text');
      assert.equal((await api(server, 'PUT', path, { role: 'marketer', body: { subject: 'x', html: 'y' } })).body.field, 'text');
      assert.equal((await api(server, 'PUT', path, { role: 'agent', body: { subject: 's', text: 't', html: 'h' } })).status, 403);
      const badLocale = await api(server, 'PUT', '/api/v1/mail/templates/order_shipped/de', { role: 'marketer', body: { subject: 's', text: 't', html: 'h' } });
      assert.equal(badLocale.status, 400);
      assert.equal(badLocale.body.field, 'locale');

      const v2 = await api(server, 'PUT', path, { role: 'marketer',
        body: { subject: 'Colis {{order.number}} en route', text: 'Bonjour {{customer.first_name}}, total {{order.total}}', html: '<p>{{order.total}}</p>' } });
      assert.equal(v2.status, 200, show(v2));
      assert.equal(v2.body.version, 2);
      const fresh = await api(server, 'PUT', '/api/v1/mail/templates/bienvenue/fr', { role: 'admin',
        body: { subject: 'Bienvenue', text: 'Bonjour', html: '<p>Bonjour</p>' } });
      assert.equal(fresh.status, 201, show(fresh));

      const h = await api(server, 'GET', '/api/v1/mail/templates/order_shipped', { role: 'agent' });
      assert.equal(h.status, 200, show(h));
      assert.equal(h.body.current.fr.version, 2);
      assert.equal(h.body.current.en.version, 1);
      assert.deepEqual(h.body.versions.map((v) => `${v.locale}${v.version}`), ['fr2', 'en1', 'fr1']);
      assert.equal((await api(server, 'GET', '/api/v1/mail/templates/nope', { role: 'agent' })).status, 404);

      const preview = await api(server, 'POST', `${path}/preview`, { role: 'agent', body: { context: ORDER } });
      assert.equal(preview.status, 200, show(preview));
      assert.equal(preview.body.subject, 'Colis CMD-2026-0042 en route');
      assert.equal(preview.body.text, 'Bonjour Hélène, total 225,70\u00a0€');
      const en = await api(server, 'POST', '/api/v1/mail/templates/order_shipped/en/preview', { role: 'agent', body: { context: ORDER } });
      assert.match(en.body.text, /Order total: €225\.70/);
      const draft = await api(server, 'POST', `${path}/preview`, { role: 'agent', body: { context: ORDER, subject: '{{order.number', text: 't', html: 'h' } });
      assert.equal(draft.status, 422, show(draft));
      assert.equal(draft.body.field, 'subject');

      // A message queued now uses version 2; the history says who made it.
      const q = await queue({ template_key: 'order_shipped', to_email: 'v2@exemple.fr', context: ORDER });
      assert.equal(q.body.template_version, 2);
      assert.equal(q.body.subject, 'Colis CMD-2026-0042 en route');
      assert.equal(h.body.versions[0].created_by, 'test-marketer');
    });
  });

  describe(`${driver}: without smtp_url`, () => {
    let smtp;
    let server;
    before(async () => {
      smtp = await startSmtp();
      server = await startServer(driver);
    });
    after(async () => {
      try {
        await server?.stop();
      } finally {
        await smtp?.stop();
      }
    });

    test('messages stay queued until `fidelis mail send-pending` sends them', async () => {
      const q = await api(server, 'POST', '/api/v1/mail/messages', { role: 'admin',
        body: { template_key: 'order_confirmation', locale: 'en', to_email: 'cron@exemple.fr', to_name: 'Zoë', context: ORDER } });
      assert.equal(q.status, 201, show(q));
      await sleep(1500);
      const still = await api(server, 'GET', `/api/v1/mail/messages/${q.body.id}`, { role: 'admin' });
      assert.equal(still.body.status, 'queued', show(still));
      assert.equal(still.body.attempts, 0);
      const r = await cliOk(['--db', server.db, 'mail', 'send-pending'],
        { env: { FIDELIS_SMTP_URL: smtp.url, FIDELIS_MAIL_FROM: 'shop@exemple.fr' } });
      assert.match(r.stdout, /^1 sent, 0 to retry later, 0 failed/);
      const sent = await api(server, 'GET', `/api/v1/mail/messages/${q.body.id}`, { role: 'admin' });
      assert.equal(sent.body.status, 'sent', show(sent));
      const [m] = smtp.messages();
      assert.equal(m.headers.Subject, 'Your order CMD-2026-0042 is confirmed');
      assert.equal(m.headers.To, 'Zoë <cron@exemple.fr>');
      assert.match(m.parts[0].text, /^Hello Hélène,/);
    });
  });
}
