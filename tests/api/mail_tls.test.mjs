// Mail through encrypted, authenticated SMTP: STARTTLS required and implicit TLS (smtps://), each
// with AUTH required, against a real server with a certificate the server is told to trust; a
// wrong password fails with the server's reply, and an untrusted certificate is never sent to.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api, show } from './harness.mjs';
import { startSecureSmtp, waitForMessage } from './smtp.mjs';

const CONTEXT = { order: { number: 'TLS-1', lines: [], total: { minor: 100, currency: 'EUR' } }, delivery: { method: 'Colissimo' } };

for (const mode of ['starttls', 'smtps']) {
  describe(mode, () => {
    const stops = [];
    after(async () => {
      // Every stop runs (each removes its temporary directory); the first failure is reported.
      let failure;
      for (const s of stops.reverse()) {
        try {
          await s();
        } catch (e) {
          failure ??= e;
        }
      }
      if (failure) throw failure;
    });

    async function setup(env) {
      const smtp = await startSecureSmtp({ mode, user: 'boutique', password: 'mot de passe sûr' });
      stops.push(() => smtp.stop());
      const server = await startServer('sqlite', {
        env: { FIDELIS_SMTP_URL: smtp.url, FIDELIS_SMTP_STARTTLS: mode === 'starttls' ? 'true' : 'false',
               FIDELIS_SMTP_USER: 'boutique', FIDELIS_SMTP_PASSWORD: 'mot de passe sûr', FIDELIS_SMTP_CA_FILE: smtp.caFile,
               FIDELIS_MAIL_FROM: 'Boutique <noreply@exemple.fr>', FIDELIS_MAIL_MAX_ATTEMPTS: '1', ...env(smtp) },
      });
      stops.push(() => server.stop());
      return { smtp, server };
    }

    test('delivered over TLS after AUTH', async () => {
      const { smtp, server } = await setup(() => ({}));
      const q = await api(server, 'POST', '/api/v1/mail/messages', { role: 'marketer', body: {
        template_key: 'order_confirmation', locale: 'fr', to_email: 'client@exemple.fr', context: CONTEXT } });
      assert.equal(q.status, 201, show(q));
      const sent = await waitForMessage(server, q.body.id, (m) => m.status !== 'queued' && m.status !== 'sending', 'a result');
      assert.equal(sent.status, 'sent', show({ status: 200, body: sent }));
      const got = smtp.messages();
      assert.equal(got.length, 1);
      assert.deepEqual(got[0].rcpt_tos, ['client@exemple.fr']);
      assert.match(got[0].headers.Subject, /TLS-1/);
    });

    test('a wrong password fails with the reply; an untrusted certificate sends nothing', async () => {
      const wrong = await setup(() => ({ FIDELIS_SMTP_PASSWORD: 'faux' }));
      const q = await api(wrong.server, 'POST', '/api/v1/mail/messages', { role: 'marketer', body: {
        template_key: 'order_confirmation', locale: 'fr', to_email: 'client@exemple.fr', context: CONTEXT } });
      const failed = await waitForMessage(wrong.server, q.body.id, (m) => m.status === 'failed', 'failed');
      assert.equal(failed.last_code, 535, show({ status: 200, body: failed }));
      assert.equal(wrong.smtp.messages().length, 0);

      const untrusted = await setup(() => ({ FIDELIS_SMTP_CA_FILE: '' }));
      const u = await api(untrusted.server, 'POST', '/api/v1/mail/messages', { role: 'marketer', body: {
        template_key: 'order_confirmation', locale: 'fr', to_email: 'client@exemple.fr', context: CONTEXT } });
      const refused = await waitForMessage(untrusted.server, u.body.id, (m) => m.status === 'failed', 'failed');
      assert.equal(refused.last_code, 0, show({ status: 200, body: refused }));
      assert.match(refused.last_reply, /certificate|SSL|TLS/i);
      assert.equal(untrusted.smtp.messages().length, 0);
    });
  });
}
