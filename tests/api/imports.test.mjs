// Imports over HTTP: a Windows-1252 file uploaded in chunks (one sent twice), a dry run, the import
// in the background followed to the end, the rejects file, and who may do it.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drivers, startServer, api, show, uploadFile, waitForImport, waitForJob } from './harness.mjs';

// The shop's own export, as French Excel writes it: ';' and Windows-1252.
const SHOP = Buffer.from(
  'Civilit\xE9;Pr\xE9nom;Nom;E-mail;T\xE9l\xE9phone;Date de naissance;Code postal;Ville;N\xB0 client\r\n' +
    'Mme;H\xE9l\xE8ne;L\xC9VY;helene.levy@orange.fr;06 11 22 33 44;09/07/1984;75011;Paris;C001\r\n' +
    'M.;Fran\xE7ois;Dupont;f.dupont@free.fr;;31/02/1975;69002;Lyon;C002\r\n' +
    ';;;pas-un-email;;;;;C003\r\n',
  'latin1');

for (const driver of drivers()) {
  describe(driver, () => {
    let server;
    let dataDir;
    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'fidelis-data-'));
      server = await startServer(driver, { env: { FIDELIS_DATA_DIR: dataDir } });
    });
    after(async () => {
      try {
        await server?.stop();
      } finally {
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      }
    });

    const upload = (role, bytes, chunk = 64) => uploadFile(server, role, bytes, chunk);

    test('uploads in chunks; a repeated chunk is harmless, a gap is refused', async () => {
      const id = await upload('marketer', SHOP.subarray(0, 100), 50);
      const again = await api(server, 'PUT', `/api/v1/uploads/${id}?offset=50`, {
        role: 'marketer', raw: SHOP.subarray(50, 100), headers: { 'Content-Type': 'application/octet-stream' },
      });
      assert.equal(again.status, 200, show(again));
      assert.equal(again.body.size, 100);
      const gap = await api(server, 'PUT', `/api/v1/uploads/${id}?offset=150`, {
        role: 'marketer', raw: 'x', headers: { 'Content-Type': 'application/octet-stream' },
      });
      assert.equal(gap.status, 400, show(gap));
      assert.equal(gap.body.field, 'offset');
      // A chunk sent again that overlaps the stored bytes with others is another file: refused,
      // and the upload is left as it was.
      const other = await api(server, 'PUT', `/api/v1/uploads/${id}?offset=0`, {
        role: 'marketer', raw: Buffer.from('x'.repeat(60)), headers: { 'Content-Type': 'application/octet-stream' },
      });
      assert.equal(other.status, 400, show(other));
      assert.equal(other.body.field, 'offset');
      // One that overlaps them with the same bytes appends only what is past them.
      const longer = await api(server, 'PUT', `/api/v1/uploads/${id}?offset=90`, {
        role: 'marketer', raw: SHOP.subarray(90, 130), headers: { 'Content-Type': 'application/octet-stream' },
      });
      assert.equal(longer.status, 200, show(longer));
      assert.equal(longer.body.size, 130);
      const unknown = await api(server, 'PUT', `/api/v1/uploads/${'0'.repeat(32)}?offset=0`, {
        role: 'marketer', raw: 'x', headers: { 'Content-Type': 'application/octet-stream' },
      });
      assert.equal(unknown.status, 404, show(unknown));
    });

    test('dry run previews rows, flags and rejections without storing anything', async () => {
      const id = await upload('admin', SHOP);
      const r = await api(server, 'POST', '/api/v1/imports', { role: 'admin', body: { upload_id: id, source: 'boutique', dry_run: true } });
      assert.equal(r.status, 200, show(r));
      assert.equal(r.body.encoding, 'WINDOWS-1252');
      assert.equal(r.body.delimiter, ';');
      assert.deepEqual(r.body.columns.map((c) => c.field),
        ['civility', 'first_name', 'last_name', 'email', 'phone', 'birth_date', 'postcode', 'city', 'external_id']);
      assert.equal(r.body.rows.length, 3);
      assert.equal(r.body.rows[0].customer.last_name, 'Lévy');
      assert.equal(r.body.rows[1].flags[0].field, 'birth_date');
      assert.equal(r.body.rows[2].rejection.column, 'E-mail');
      assert.equal(r.body.rows[0].match, null);  // nobody stored yet: a new customer
      // The consents a row gives or withdraws show too.
      const news = await upload('admin', Buffer.from('email,nom,Newsletter,Date optin\nzoe@exemple.fr,Martin,oui,15/03/2024\nluc@exemple.fr,Petit,non,\n'));
      const withConsents = await api(server, 'POST', '/api/v1/imports', {
        role: 'admin', body: { upload_id: news, source: 'newsletter', dry_run: true },
      });
      assert.equal(withConsents.status, 200, show(withConsents));
      assert.deepEqual(withConsents.body.rows.map((x) => x.customer.consents),
        [[{ channel: 'email', purpose: 'newsletter', granted: true, source_at: '2024-03-15T00:00:00.000Z' }],
          [{ channel: 'email', purpose: 'newsletter', granted: false, source_at: null }]]);
      // A list of subscribers gives its consent to every row but one that says otherwise.
      const listed = await api(server, 'POST', '/api/v1/imports', {
        role: 'admin', body: { upload_id: news, source: 'newsletter', dry_run: true, consents: ['sms:offers'] },
      });
      assert.equal(listed.status, 200, show(listed));
      assert.deepEqual(listed.body.rows.map((x) => x.customer.consents.map((k) => [k.channel, k.purpose, k.granted])),
        [[['email', 'newsletter', true], ['sms', 'offers', true]], [['email', 'newsletter', false], ['sms', 'offers', true]]]);
      for (const [consents, field] of [[['fax:offers'], 'consents[0]'], ['email:newsletter', 'consents'], [[3], 'consents[0]']]) {
        const bad = await api(server, 'POST', '/api/v1/imports', {
          role: 'admin', body: { upload_id: news, source: 'newsletter', dry_run: true, consents },
        });
        assert.equal(bad.status, 400, show(bad));
        assert.equal(bad.body.field, field, show(bad));
      }
      // Household members and affinities, as exports write them.
      const family = await upload('admin', Buffer.from('email,nom,household,affinities\nana@exemple.fr,Roux,enfant:léa:2015-04-02|conjoint:Marc,jardin:80|cuisine\n'));
      const withFamily = await api(server, 'POST', '/api/v1/imports', {
        role: 'admin', body: { upload_id: family, source: 'newsletter', dry_run: true },
      });
      assert.equal(withFamily.status, 200, show(withFamily));
      assert.deepEqual(withFamily.body.rows[0].customer.household, [
        { relation: 'enfant', first_name: 'Léa', birth_date: '2015-04-02' },
        { relation: 'conjoint', first_name: 'Marc', birth_date: null },
      ]);
      assert.deepEqual(withFamily.body.rows[0].customer.affinities,
        [{ category: 'jardin', strength: 80 }, { category: 'cuisine', strength: 50 }]);
      const list = await api(server, 'GET', '/api/v1/customers', { role: 'admin' });
      assert.equal(list.body.items.length, 0);
    });

    test('imports in the background with progress, counts and a rejects file', async () => {
      const id = await upload('marketer', SHOP);
      const started = await api(server, 'POST', '/api/v1/imports', {
        role: 'marketer', body: { upload_id: id, source: 'Boutique', priority: 80, file_name: 'clients-boutique.csv' },
      });
      assert.equal(started.status, 202, show(started));
      const location = started.headers.get('location');
      assert.match(location, /^\/api\/v1\/imports\/\d+$/);
      const status = await waitForImport(server, location, 'marketer');
      assert.equal(status.body.status, 'done', show(status));
      // The upload is the import's file now: it takes no more bytes.
      const more = await api(server, 'PUT', `/api/v1/uploads/${id}?offset=${SHOP.length}`, {
        role: 'marketer', raw: 'zoe@exemple.fr;Zoé;Martin\n', headers: { 'Content-Type': 'text/csv' },
      });
      assert.equal(more.status, 409, show(more));
      assert.equal(more.body.field, 'upload_id');
      assert.equal(status.body.rows_read, 3);
      assert.equal(status.body.accepted, 2);
      assert.equal(status.body.rejected, 1);
      assert.equal(status.body.flagged, 1);
      const rejects = await api(server, 'GET', `${location}/rejects`, { role: 'marketer' });
      assert.equal(rejects.status, 200, show(rejects));
      assert.match(rejects.headers.get('content-type'), /text\/csv/);
      assert.match(rejects.text, /^line,column,reason,original\r\n4,E-mail,/);
      const excel = await api(server, 'GET', `${location}/rejects?format=csv-excel-fr`, { role: 'marketer' });
      assert.equal(excel.status, 200, show(excel));
      assert.match(excel.text, /^\uFEFF?line;column;reason;original\r\n4;E-mail;/);
      const odd = await api(server, 'GET', `${location}/rejects?format=jsonl`, { role: 'marketer' });
      assert.equal(odd.status, 400, show(odd));
      assert.equal(odd.body.field, 'format');
      const found = await api(server, 'GET', '/api/v1/customers?q=helene.levy@', { role: 'viewer' });
      assert.equal(found.body.items.length, 1);
      assert.equal(found.body.items[0].external_ids[0].source, 'boutique');
      // Her record's provenance: this import, its source, the file and the line.
      const importId = Number(location.split('/').at(-1));
      const prov = await api(server, 'GET', `/api/v1/customers/${found.body.items[0].id}/provenance`, { role: 'viewer' });
      assert.equal(prov.status, 200, show(prov));
      assert.equal(prov.body.items.length, 1, show(prov));
      const { at, file_name, ...where } = prov.body.items[0];
      assert.deepEqual(where, { import_id: importId, source: 'boutique', line: 2 });
      assert.equal(file_name, 'clients-boutique.csv', show(prov));
      assert.ok(Date.parse(at) > 0, show(prov));
      const badName = await api(server, 'POST', '/api/v1/imports', {
        role: 'marketer', body: { upload_id: id, source: 'boutique', file_name: '../etc/passwd' },
      });
      assert.equal(badName.status, 400, show(badName));
      assert.equal(badName.body.field, 'file_name');
      const none = await api(server, 'GET', '/api/v1/customers/999999/provenance', { role: 'viewer' });
      assert.equal(none.status, 404, show(none));
      const list = await api(server, 'GET', '/api/v1/imports', { role: 'admin' });
      assert.ok(list.body.items.some((x) => `/api/v1/imports/${x.id}` === location));
      // The same file again, as a dry run: each row updates the customer its id in the source names,
      // which it brings nothing new.
      const again = await api(server, 'POST', '/api/v1/imports', { role: 'marketer', body: { upload_id: id, source: 'boutique', dry_run: true } });
      assert.equal(again.status, 200, show(again));
      assert.deepEqual(again.body.rows[0].match,
        { outcome: 'update', by: 'external_id', customers: [found.body.items[0].id], score: null, changes: false }, show(again));
    });

    test('the same upload sent twice for one source is imported once', async () => {
      // A server of its own: its rows stay out of the other tests' base.
      const ownDataDir = mkdtempSync(join(tmpdir(), 'fidelis-data-'));
      let own;
      try {
        own = await startServer(driver, { env: { FIDELIS_DATA_DIR: ownDataDir } });
        let csv = 'prenom;nom;email\n';
        for (let i = 0; i < 5000; i++) csv += `Prénom${i};Nom${i};deux.fois.${i}@exemple.fr\n`;
        const id = await uploadFile(own, 'marketer', Buffer.from(csv, 'utf8'));
        const body = { upload_id: id, source: 'twice', dedup: false };
        const [a, b] = await Promise.all([
          api(own, 'POST', '/api/v1/imports', { role: 'marketer', body }),
          api(own, 'POST', '/api/v1/imports', { role: 'marketer', body }),
        ]);
        assert.deepEqual([a.status, b.status].sort(), [202, 409], `${show(a)} ${show(b)}`);
        const started = a.status === 202 ? a : b;
        const refused = a.status === 202 ? b : a;
        assert.equal(refused.body.field, 'upload_id');
        // Another file meanwhile is queued behind it, and its request is answered at once.
        const small = await uploadFile(own, 'marketer', Buffer.from('prenom;nom;email\nAnne;Suivante;anne.suivante@exemple.fr\n'));
        const next = await api(own, 'POST', '/api/v1/imports', { role: 'marketer', body: { upload_id: small, source: 'next' } });
        assert.equal(next.status, 202, show(next));
        const waiting = await api(own, 'GET', next.headers.get('location'), { role: 'marketer' });
        assert.equal(waiting.body.status, 'queued', show(waiting));
        const nextDone = await waitForImport(own, next.headers.get('location'), 'marketer');
        assert.equal(nextDone.body.status, 'done', show(nextDone));
        assert.equal(nextDone.body.accepted, 1, show(nextDone));
        const done = await waitForImport(own, started.headers.get('location'), 'marketer');
        assert.equal(done.body.accepted, 5000, show(done));
        const all = await api(own, 'GET', '/api/v1/customers?limit=1&q=deux.fois.4999@', { role: 'viewer' });
        assert.equal(all.body.items.length, 1, show(all));
        const imports = await api(own, 'GET', '/api/v1/imports', { role: 'admin' });
        assert.equal(imports.body.items.length, 2, show(imports));
      } finally {
        try {
          await own?.stop();
        } finally {
          rmSync(ownDataDir, { recursive: true, force: true });
        }
      }
    });

    test('a row with broken quoting is rejected with its text, and the rows after it are imported', async () => {
      const file = Buffer.from(
        'Nom;Prénom;E-mail\r\n' +
          'Roux;Anne;anne.roux@exemple.fr\r\n' +
          'Dupont "dit Jeannot";Jean;jean.dupont@exemple.fr\r\n' +
          'Blanc;Paul;paul.blanc@exemple.fr\r\n',
        'utf8');
      const started = await api(server, 'POST', '/api/v1/imports', {
        role: 'marketer', body: { upload_id: await upload('marketer', file), source: 'salon-quotes' },
      });
      assert.equal(started.status, 202, show(started));
      const status = await waitForImport(server, started.headers.get('location'), 'marketer');
      assert.equal(status.body.status, 'done', show(status));
      assert.equal(status.body.rows_read, 3);
      assert.equal(status.body.accepted, 2);
      assert.equal(status.body.rejected, 1);
      const rejects = await api(server, 'GET', `${started.headers.get('location')}/rejects`, { role: 'marketer' });
      const lines = rejects.text.trim().split('\r\n');
      assert.equal(lines.length, 2, rejects.text);
      assert.match(lines[1], /^3,Nom,"line 3: the quoting is broken/);
      assert.ok(lines[1].endsWith(',"Dupont ""dit Jeannot"";Jean;jean.dupont@exemple.fr"'), lines[1]);
      const after = await api(server, 'GET', '/api/v1/customers?q=paul.blanc@', { role: 'viewer' });
      assert.equal(after.body.items.length, 1);
    });

    test('a newsletter list: a row known only by a customer\'s e-mail is that customer; one split between two is rejected', async () => {
      const known = [];
      for (const [last_name, email] of [['Lenoir', 'claire.lenoir@exemple.fr'], ['Morel', 'luc.morel@exemple.fr']]) {
        const c = await api(server, 'POST', '/api/v1/customers', { role: 'sales', body: { last_name, emails: [{ email }] } });
        assert.equal(c.status, 201, show(c));
        known.push(c.body);
      }
      const file = Buffer.from(
        'E-mail;E-mail 2;Tags\r\n' +
          'Claire.Lenoir@exemple.fr;;newsletter\r\n' +
          'nouvelle.abonnee@exemple.fr;;newsletter\r\n' +
          'claire.lenoir@exemple.fr;luc.morel@exemple.fr;newsletter\r\n',
        'utf8');
      const started = await api(server, 'POST', '/api/v1/imports', {
        role: 'marketer', body: { upload_id: await upload('marketer', file), source: 'newsletter', mapping: { 'E-mail': 'email', 'E-mail 2': 'email', Tags: 'tags' } },
      });
      assert.equal(started.status, 202, show(started));
      const status = await waitForImport(server, started.headers.get('location'), 'marketer');
      assert.equal(status.body.status, 'done', show(status));
      // Claire's known address: an update of her, not a duplicate merged.
      assert.deepEqual([status.body.rows_read, status.body.accepted, status.body.updated, status.body.merged, status.body.rejected, status.body.queued],
                       [3, 1, 1, 0, 1, 0], show(status));
      const claire = await api(server, 'GET', `/api/v1/customers/${known[0].id}`, { role: 'viewer' });
      assert.deepEqual(claire.body.tags, ['newsletter'], show(claire));
      assert.deepEqual(claire.body.emails.map((e) => e.email), ['claire.lenoir@exemple.fr']);
      const flags = await api(server, 'GET', `/api/v1/customers/${known[0].id}/flags`, { role: 'viewer' });
      assert.deepEqual(flags.body.items, []);
      const rejects = await api(server, 'GET', `${started.headers.get('location')}/rejects`, { role: 'marketer' });
      const lines = rejects.text.trim().split('\r\n');
      assert.equal(lines.length, 2, rejects.text);
      assert.match(lines[1], /^4,E-mail,its e-mails belong to different customers/);
      assert.ok(lines[1].endsWith(',claire.lenoir@exemple.fr;luc.morel@exemple.fr;newsletter'), lines[1]);
    });

    test('a bulk load sets the search indexes aside, says so, and leaves them back', async () => {
      const rows = ['email;nom;prenom;code postal;ville'];
      for (let i = 0; i < 400; i++) rows.push(`bulk${i}@exemple.fr;Nom${i};Prenom${i};750${String(i % 20).padStart(2, '0')};Ville ${i % 8}`);
      rows.push('bulk7@exemple.fr;Nom7;Prenom7;75007;Ville 7'); // the same person twice in the file
      const id = await upload('admin', Buffer.from(rows.join('\n') + '\n'), 4096);
      const odd = await api(server, 'POST', '/api/v1/imports', { role: 'admin', body: { upload_id: id, source: 'bulk', bulk: 'sometimes' } });
      assert.equal(odd.status, 400, show(odd));
      assert.equal(odd.body.field, 'bulk');
      const started = await api(server, 'POST', '/api/v1/imports', { role: 'admin', body: { upload_id: id, source: 'bulk', bulk: 'on' } });
      if (driver === 'postgres') {
        assert.equal(started.status, 400, show(started));
        assert.equal(started.body.field, 'bulk');
        return;
      }
      assert.equal(started.status, 202, show(started));
      const status = await waitForImport(server, started.headers.get('location'), 'admin');
      assert.equal(status.body.status, 'done', show(status));
      assert.equal(status.body.bulk, true);
      assert.equal(status.body.phase, 'rows');
      assert.equal(status.body.accepted, 400);
      assert.equal(status.body.unchanged, 1);  // the same person twice: the second row brings nothing new
      // Searches work through the rebuilt indexes, and the duplicate row is one customer.
      const found = await api(server, 'GET', '/api/v1/customers?q=bulk7@', { role: 'viewer' });
      assert.equal(found.body.items.length, 1, show(found));
      const byName = await api(server, 'GET', '/api/v1/customers?q=Nom399', { role: 'viewer' });
      assert.equal(byName.body.items.length, 1, show(byName));
      const byCity = await api(server, 'GET', '/api/v1/customers?city=ville%203&limit=100', { role: 'viewer' });
      assert.equal(byCity.body.items.length, 50, show(byCity));
      assert.ok(byCity.body.items.every((c) => c.address.city === 'Ville 3'), show(byCity));
    });

    test('bad requests name the field; agents and viewers may not import', async () => {
      const none = await api(server, 'POST', '/api/v1/imports', { role: 'admin', body: { source: 'x' } });
      assert.equal(none.status, 400);
      assert.equal(none.body.field, 'upload_id');
      const id = await upload('admin', SHOP);
      const bad = await api(server, 'POST', '/api/v1/imports', { role: 'admin', body: { upload_id: id, source: 'Bad Name!' } });
      assert.equal(bad.status, 400, show(bad));
      assert.equal(bad.body.field, 'source');
      const badMap = await api(server, 'POST', '/api/v1/imports', {
        role: 'admin', body: { upload_id: id, source: 'x', mapping: { Nom: 'surname' } },
      });
      assert.equal(badMap.status, 400, show(badMap));
      assert.equal(badMap.body.field, 'mapping.Nom');
      for (const dry_run of [false, true]) {
        const badCountry = await api(server, 'POST', '/api/v1/imports', {
          role: 'admin', body: { upload_id: id, source: 'x', default_country: 'France', dry_run },
        });
        assert.equal(badCountry.status, 400, show(badCountry));
        assert.equal(badCountry.body.field, 'default_country');
        // A dry run refuses what the import would refuse.
        const badPriority = await api(server, 'POST', '/api/v1/imports', {
          role: 'admin', body: { upload_id: id, source: 'x', priority: 101, dry_run },
        });
        assert.equal(badPriority.status, 400, show(badPriority));
        assert.equal(badPriority.body.field, 'priority');
        // Not taken modulo 2^32 (4294967346 would read as 50).
        const hugePriority = await api(server, 'POST', '/api/v1/imports', {
          role: 'admin', body: { upload_id: id, source: 'x', priority: 4294967346, dry_run },
        });
        assert.equal(hugePriority.status, 400, show(hugePriority));
        assert.equal(hugePriority.body.field, 'priority');
        const badSource = await api(server, 'POST', '/api/v1/imports', {
          role: 'admin', body: { upload_id: id, source: 'Bad Name!', dry_run },
        });
        assert.equal(badSource.status, 400, show(badSource));
        assert.equal(badSource.body.field, 'source');
      }
      for (const role of ['agent', 'sales', 'viewer']) {
        const r = await api(server, 'POST', '/api/v1/uploads', { role });
        assert.equal(r.status, 403, `${role}: ${show(r)}`);
      }
    });
  });
}

for (const driver of drivers()) {
  describe(`${driver}: quality flags`, () => {
    let server;
    let dataDir;
    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'fidelis-data-'));
      server = await startServer(driver, { env: { FIDELIS_DATA_DIR: dataDir } });
    });
    after(async () => {
      try {
        await server?.stop();
      } finally {
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      }
    });

    test('an imported row keeps what was dropped as flags on the record, readable by API', async () => {
      const csv = Buffer.from('Prénom;Nom;E-mail;Naissance\r\nLéa;Roux;lea.roux@yopmail.com;31/02/1990\r\n', 'utf8');
      const created = await api(server, 'POST', '/api/v1/uploads', { role: 'admin' });
      const id = created.body.upload_id;
      const put = await api(server, 'PUT', `/api/v1/uploads/${id}?offset=0`, {
        role: 'admin', raw: csv, headers: { 'Content-Type': 'text/csv' },
      });
      assert.equal(put.status, 200, show(put));
      const started = await api(server, 'POST', '/api/v1/imports', { role: 'admin', body: { upload_id: id, source: 'salon' } });
      assert.equal(started.status, 202, show(started));
      const st = await waitForJob(server, started.headers.get('location'), 'admin');
      assert.equal(st.body.status, 'done', show(st));
      assert.equal(st.body.flagged, 1);
      const found = await api(server, 'GET', '/api/v1/customers?q=roux', { role: 'viewer' });
      const cid = found.body.items[0].id;
      const flags = await api(server, 'GET', `/api/v1/customers/${cid}/flags`, { role: 'viewer' });
      assert.equal(flags.status, 200, show(flags));
      const fields = flags.body.items.map((f) => `${f.field}:${f.value}`).sort();
      assert.deepEqual(fields, ['birth_date:31/02/1990', 'email:lea.roux@yopmail.com']);
      assert.ok(flags.body.items.every((f) => f.source === 'salon'));
      const none = await api(server, 'GET', '/api/v1/customers/999999/flags', { role: 'viewer' });
      assert.equal(none.status, 404);
    });
  });
}
