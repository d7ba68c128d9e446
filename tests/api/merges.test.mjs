// Duplicates end to end: two exports of the same shop's customers imported over HTTP, the
// uncertain pairs reviewed side by side (accepted, rejected), a wrong merge undone, creates that
// merge or queue, manual merges, the whole-base run, and the base exported.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drivers, startServer, api, show, cliOk, uploadFile, waitForImport, waitForJob } from './harness.mjs';

// The shop's export, as French Excel writes it: ';' and Windows-1252.
const SHOP = Buffer.from(
  'Civilit\xE9;Pr\xE9nom;Nom;E-mail;T\xE9l\xE9phone;Adresse;Code postal;Ville;N\xB0 client\r\n' +
    'Mme;H\xE9l\xE8ne;L\xC9VY;helene.levy@orange.fr;06 11 22 33 44;12 rue de la Roquette;75011;Paris;C001\r\n' +
    'M.;Fran\xE7ois;Dupont;f.dupont@free.fr;04 78 11 22 33;8 rue Merci\xE8re;69002;Lyon;C002\r\n' +
    'Mme;Zo\xE9;Martin;zoe.martin@laposte.net;;5 La Canebi\xE8re;13001;Marseille;C003\r\n' +
    ';;;pas-un-email;;;;;C004\r\n',
  'latin1');

// The newsletter's export: UTF-8, ',', some of the same people written differently.
const NEWS = Buffer.from(
  'email,first name,last name,phone,street,zip,city\n' +
    'helene.levy@orange.fr,Helene,Levy,+33687654321,12 rue de la Roquette,75011,Paris\n' +
    'francois.dupont@gmail.com,François,Dupont,,8 rue Mercière,69002,Lyon\n' +
    ',Zoé,Martin,,9 rue Paradis,13001,Marseille\n' +
    'paul.bernard@sfr.fr,Paul,Bernard,,1 place Bellecour,69002,Lyon\n',
  'utf8');

for (const driver of drivers()) {
  describe(driver, () => {
    let server;
    // Temporary directories, removed once the server has stopped.
    const dirs = [];
    const scratch = (prefix) => {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    };
    before(async () => {
      server = await startServer(driver, { env: { FIDELIS_DATA_DIR: scratch('fidelis-data-') } });
    });
    after(async () => {
      try {
        await server?.stop();
      } finally {
        for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      }
    });

    async function importFile(bytes, source, priority) {
      const id = await uploadFile(server, 'marketer', bytes);
      const started = await api(server, 'POST', '/api/v1/imports', { role: 'marketer', body: { upload_id: id, source, priority } });
      assert.equal(started.status, 202, show(started));
      const location = started.headers.get('location');
      const status = await waitForImport(server, location, 'marketer');
      assert.equal(status.body.status, 'done', show(status));
      return { ...status.body, location };
    }

    const find = async (q) => (await api(server, 'GET', `/api/v1/customers?q=${encodeURIComponent(q)}`, { role: 'viewer' })).body.items;

    test('two overlapping exports: counts, rejects, a review queue to decide, and a wrong merge undone', async () => {
      const shop = await importFile(SHOP, 'boutique', 80);
      assert.equal(shop.encoding, 'WINDOWS-1252');
      assert.deepEqual([shop.rows_read, shop.accepted, shop.merged, shop.queued, shop.rejected], [4, 3, 0, 0, 1]);
      const rejects = await api(server, 'GET', `${shop.location}/rejects`, { role: 'marketer' });
      assert.match(rejects.text, /^line,column,reason,original\r\n5,E-mail,/);

      const news = await importFile(NEWS, 'newsletter', 20);
      // Hélène (same e-mail and address, another phone) is merged; François (new e-mail, same name
      // and address) too; Zoé (same name and town, another street, nothing else) waits for a person;
      // Paul is new.
      assert.deepEqual([news.rows_read, news.accepted, news.merged, news.queued, news.rejected], [4, 2, 2, 1, 0], show({ body: news }));

      const helene = await find('helene.levy@');
      assert.equal(helene.length, 1);
      assert.equal(helene[0].last_name, 'Lévy');  // the shop ranks higher: its spelling stays
      assert.equal(helene[0].external_ids[0].id, 'C001');
      const francois = await find('dupont');
      assert.equal(francois.length, 1);
      assert.deepEqual(francois[0].emails.map((e) => e.email).sort(), ['f.dupont@free.fr', 'francois.dupont@gmail.com']);

      // The review queue shows the pair side by side.
      const pending = await api(server, 'GET', '/api/v1/merge-reviews', { role: 'agent' });
      assert.equal(pending.status, 200, show(pending));
      assert.equal(pending.body.items.length, 1, show(pending));
      const pair = pending.body.items[0];
      assert.equal(pair.status, 'pending');
      assert.match(pair.origin, /^import:\d+$/);
      const street = pair.fields.find((f) => f.field === 'street');
      assert.deepEqual([street.a, street.b], ['5 La Canebière', '9 rue Paradis']);
      assert.equal(pair.fields.find((f) => f.field === 'last_name').level, 'same');
      assert.equal(pair.a.first_name, 'Zoé');
      assert.ok(pair.score >= 12 && pair.score < 18, String(pair.score));

      // A viewer may look but not decide.
      assert.equal((await api(server, 'POST', `/api/v1/merge-reviews/${pair.id}/reject`, { role: 'viewer' })).status, 403);
      const rejected = await api(server, 'POST', `/api/v1/merge-reviews/${pair.id}/reject`, { role: 'agent' });
      assert.equal(rejected.status, 200, show(rejected));
      assert.equal(rejected.body.status, 'rejected');
      const twice = await api(server, 'POST', `/api/v1/merge-reviews/${pair.id}/reject`, { role: 'agent' });
      assert.equal(twice.status, 409, show(twice));
      assert.equal((await find('martin')).length, 2);

      // The Hélène merge was wrong (say, mother and daughter): undo it.
      const merges = await api(server, 'GET', `/api/v1/merges?customer_id=${helene[0].id}`, { role: 'agent' });
      assert.equal(merges.status, 200, show(merges));
      assert.equal(merges.body.items.length, 1);
      const m = merges.body.items[0];
      assert.equal(m.reason, 'auto');
      assert.equal(m.winner_id, helene[0].id);
      assert.ok(m.moved.customer_provenance >= 1, show(merges));
      const gone = await api(server, 'GET', `/api/v1/customers/${m.loser_id}`, { role: 'viewer' });
      assert.equal(gone.status, 404);
      assert.equal(gone.body.merged_into, helene[0].id);
      const undone = await api(server, 'POST', `/api/v1/merges/${m.id}/undo`, { role: 'agent' });
      assert.equal(undone.status, 200, show(undone));
      assert.ok(undone.body.undone_at);
      const back = await api(server, 'GET', `/api/v1/customers/${m.loser_id}`, { role: 'viewer' });
      assert.equal(back.status, 200, show(back));
      assert.equal(back.body.first_name, 'Helene');
      assert.deepEqual(back.body.emails, []);  // the shared address stays with the first, flagged here
      const flags = await api(server, 'GET', `/api/v1/customers/${m.loser_id}/flags`, { role: 'viewer' });
      assert.ok(flags.body.items.some((f) => f.field === 'email' && f.value === 'helene.levy@orange.fr'), show(flags));
      const again = await api(server, 'POST', `/api/v1/merges/${m.id}/undo`, { role: 'agent' });
      assert.equal(again.status, 409, show(again));

      // The whole-base run respects both decisions: nothing is merged or queued again.
      const run = await api(server, 'POST', '/api/v1/dedup/runs', { role: 'marketer', body: {} });
      assert.equal(run.status, 202, show(run));
      const state = await waitForJob(server, run.headers.get('location'), 'marketer');
      assert.equal(state.body.status, 'done', show(state));
      assert.equal(state.body.merged, 0, show(state));
      assert.equal(state.body.queued, 0, show(state));
      assert.ok(state.body.skipped >= 1, show(state));
      assert.equal((await api(server, 'POST', '/api/v1/dedup/runs', { role: 'agent', body: {} })).status, 403);
      // So do the pairs `fidelis dedup --pairs` lists: the two pairs decided by a person are left out.
      const out = join(scratch('fidelis-pairs-'), 'pairs.csv');
      const listed = await cliOk(['--db', server.db, 'dedup', '--pairs', out]);
      assert.match(listed.stdout, /pairs written to .* \(2 left out: a person said they are two people\)/, listed.stdout);
      const written = readFileSync(out, 'utf8');
      assert.equal(written.trim().split('\r\n').length, 1, written);  // the header alone
    });

    test('a create finds the customer of the same mailbox written otherwise (Gmail dots, +tag, googlemail)', async () => {
      const first = await api(server, 'POST', '/api/v1/customers', {
        role: 'sales', body: { first_name: 'Jean-Marc', last_name: 'Dupuis', emails: [{ email: 'jeanmarc.dupuis@gmail.com' }] },
      });
      assert.equal(first.status, 201, show(first));
      for (const email of ['jean.marc.dupuis@gmail.com', 'JeanMarc.Dupuis+promo@GMAIL.com', 'jeanmarc.dupuis@googlemail.com']) {
        const again = await api(server, 'POST', '/api/v1/customers', {
          role: 'sales', body: { first_name: 'Jean-Marc', last_name: 'Dupuis', emails: [{ email }] },
        });
        assert.equal(again.status, 200, show(again));
        assert.equal(again.headers.get('fidelis-merged-into'), String(first.body.id), email);
        assert.ok(again.body.emails.some((e) => e.email.toLowerCase() === email.toLowerCase()), show(again));
      }
    });

    test('a create merges into a known customer or queues the doubt; manual merges name bad input', async () => {
      const first = await api(server, 'POST', '/api/v1/customers', {
        role: 'sales',
        body: { first_name: 'Mathilde', last_name: 'Roussel', emails: [{ email: 'mathilde.roussel@orange.fr' }],
                phones: [{ number: '06 44 55 66 77' }], address: { street: '3 rue Nationale', postcode: '59000', city: 'Lille' } },
      });
      assert.equal(first.status, 201, show(first));
      const same = await api(server, 'POST', '/api/v1/customers', {
        role: 'sales',
        body: { first_name: 'Mathilde', last_name: 'ROUSSEL', emails: [{ email: 'm.roussel@gmail.com' }],
                phones: [{ number: '+33 6 44 55 66 77' }] },
      });
      assert.equal(same.status, 200, show(same));
      assert.equal(same.headers.get('fidelis-merged-into'), String(first.body.id));
      assert.equal(same.body.id, first.body.id);
      assert.equal(same.body.emails.length, 2);
      const mergeId = same.headers.get('fidelis-merge-id');
      const merge = await api(server, 'GET', `/api/v1/merges/${mergeId}`, { role: 'viewer' });
      assert.equal(merge.status, 200, show(merge));
      assert.equal(merge.body.origin, 'api');

      const plain = await api(server, 'POST', '/api/v1/customers?dedup=false', {
        role: 'sales', body: { first_name: 'Mathilde', last_name: 'Roussel', phones: [{ number: '06 44 55 66 77' }] },
      });
      assert.equal(plain.status, 201, show(plain));
      const bad = await api(server, 'POST', '/api/v1/customers?dedup=maybe', { role: 'sales', body: { last_name: 'X' } });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.field, 'dedup');

      const manual = await api(server, 'POST', '/api/v1/merges', {
        role: 'agent', body: { a: first.body.id, b: plain.body.id, winner_id: plain.body.id },
      });
      assert.equal(manual.status, 201, show(manual));
      assert.equal(manual.body.winner_id, plain.body.id);
      assert.equal(manual.body.reason, 'manual');
      const missing = await api(server, 'POST', '/api/v1/merges', { role: 'agent', body: { a: plain.body.id } });
      assert.equal(missing.status, 400);
      assert.equal(missing.body.field, 'b');
      const unknown = await api(server, 'POST', '/api/v1/merges', { role: 'agent', body: { a: plain.body.id, b: 999999 } });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.field, 'b');
      const self = await api(server, 'POST', '/api/v1/merges', { role: 'agent', body: { a: plain.body.id, b: plain.body.id } });
      assert.equal(self.status, 400);
      assert.equal(self.body.field, 'b');
      // The merged-away customer cannot be restored around its merge.
      const restore = await api(server, 'POST', `/api/v1/customers/${first.body.id}/restore`, { role: 'admin' });
      assert.equal(restore.status, 409, show(restore));
    });

    test('the base exports as CSV, French Excel CSV and JSON Lines', async () => {
      const csv = await api(server, 'GET', '/api/v1/customers/export', { role: 'marketer' });
      assert.equal(csv.status, 200, show(csv));
      assert.match(csv.headers.get('content-type'), /text\/csv/);
      const count = Number(csv.headers.get('fidelis-export-count'));
      assert.ok(count >= 5, show(csv));
      const lines = csv.text.trim().split('\r\n');
      assert.equal(lines.length, count + 1);
      assert.match(lines[0], /^id,/);
      const excel = await api(server, 'GET', '/api/v1/customers/export?format=csv-excel-fr', { role: 'admin' });
      assert.equal(excel.status, 200);
      assert.ok(excel.text.startsWith('\uFEFF') || excel.text.startsWith('id;'), excel.text.slice(0, 20));
      assert.ok(excel.text.includes(';'));
      const jsonl = await api(server, 'GET', '/api/v1/customers/export?format=jsonl', { role: 'admin' });
      assert.equal(jsonl.status, 200);
      const docs = jsonl.text.trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(docs.length, count);
      assert.ok(docs.some((d) => d.last_name === 'Lévy'));
      const badFormat = await api(server, 'GET', '/api/v1/customers/export?format=xlsx', { role: 'admin' });
      assert.equal(badFormat.status, 400);
      assert.equal(badFormat.body.field, 'format');
      assert.equal((await api(server, 'GET', '/api/v1/customers/export', { role: 'agent' })).status, 403);
      assert.equal((await api(server, 'GET', '/api/v1/customers/export?deleted=include', { role: 'marketer' })).status, 403);
    });
  });
}
