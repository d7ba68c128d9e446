// The optional DNS check of e-mail domains, against a real DNS server on loopback (dnsmasq): a
// domain that cannot receive mail is flagged on API creates and in imports; others are not.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drivers, startServer, api, show, sleep, freePort, uploadFile, waitForImport } from './harness.mjs';

const NO_MAIL = 'its domain cannot receive mail (no MX or address record in DNS)';

// dnsmasq on a free port, once it answers a real query. The port is free for TCP when chosen; if
// dnsmasq cannot bind it (UDP taken, or taken since), it exits and another port is tried.
async function startDns() {
  for (let attempt = 1; ; ++attempt) {
    const port = await freePort();
    const proc = spawn('/usr/sbin/dnsmasq', ['--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts',
      '--listen-address=127.0.0.1', '--bind-interfaces', `--port=${port}`, '--pid-file=', '--user=root',
      '--local=/test/', '--mx-host=boutique.test,mx1.boutique.test,10', '--host-record=mx1.boutique.test,127.0.0.10'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const resolver = new Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([`127.0.0.1:${port}`]);
    for (const end = Date.now() + 10_000; proc.exitCode === null && Date.now() < end;) {
      try {
        if ((await resolver.resolveMx('boutique.test')).length > 0) return { dns: proc, port };
      } catch {
        await sleep(100);
      }
    }
    proc.kill('SIGTERM');
    if (attempt === 5) throw new Error(`dnsmasq did not answer on 127.0.0.1:${port}: ${stderr}`);
  }
}

for (const driver of drivers()) {
  describe(driver, () => {
    let server;
    let dns;
    let dataDir;
    before(async () => {
      let port;
      ({ dns, port } = await startDns());
      dataDir = mkdtempSync(join(tmpdir(), 'fidelis-data-'));
      server = await startServer(driver, {
        env: { FIDELIS_EMAIL_MX_CHECK: 'true', FIDELIS_EMAIL_MX_NAMESERVER: `127.0.0.1:${port}`,
               FIDELIS_DATA_DIR: dataDir },
      });
    });
    after(async () => {
      try {
        await server?.stop();
      } finally {
        dns?.kill('SIGTERM');
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      }
    });

    test('a create with a domain that cannot receive mail is accepted and flagged', async () => {
      const bad = await api(server, 'POST', '/api/v1/customers', {
        role: 'sales', body: { last_name: 'Nulpart', emails: [{ email: 'jean@inexistant.test' }] },
      });
      assert.equal(bad.status, 201, show(bad));
      const flags = await api(server, 'GET', `/api/v1/customers/${bad.body.id}/flags`, { role: 'viewer' });
      assert.deepEqual(flags.body.items.map((f) => [f.field, f.value, f.reason]), [['email', 'jean@inexistant.test', NO_MAIL]]);
      const good = await api(server, 'POST', '/api/v1/customers', {
        role: 'sales', body: { last_name: 'Bonport', emails: [{ email: 'marie@boutique.test' }] },
      });
      assert.equal(good.status, 201, show(good));
      const none = await api(server, 'GET', `/api/v1/customers/${good.body.id}/flags`, { role: 'viewer' });
      assert.deepEqual(none.body.items, []);
    });

    test('an import flags the same, row by row', async () => {
      const csv = Buffer.from('email,nom\nluc@boutique.test,Arnaud\nzoe@nulle-part.test,Faure\n');
      const upload = await uploadFile(server, 'marketer', csv);
      const started = await api(server, 'POST', '/api/v1/imports', { role: 'marketer', body: { upload_id: upload, source: 'crm' } });
      assert.equal(started.status, 202, show(started));
      const status = await waitForImport(server, started.headers.get('location'), 'marketer');
      assert.equal(status.body.status, 'done', show(status));
      assert.equal(status.body.accepted, 2);
      assert.equal(status.body.flagged, 1);
      const faure = await api(server, 'GET', '/api/v1/customers?q=faure', { role: 'viewer' });
      const flags = await api(server, 'GET', `/api/v1/customers/${faure.body.items[0].id}/flags`, { role: 'viewer' });
      assert.equal(flags.body.items[0].reason, NO_MAIL);
    });
  });
}
