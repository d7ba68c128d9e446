// Customers as an API client sees them: lifecycle, ETags, lists, search, pagination, soft delete,
// consents, idempotency, validation errors, custom fields and the audit log.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { drivers, startServer, api, show } from './harness.mjs';

const C = '/api/v1/customers';

for (const driver of drivers()) {
  describe(driver, () => {
    let server;
    before(async () => {
      server = await startServer(driver);
    });
    after(async () => {
      await server?.stop();
    });

    const call = (method, path, opts = {}) => api(server, method, path, { role: 'admin', ...opts });
    const create = async (body, opts = {}) => {
      const r = await call('POST', C, { body, ...opts });
      assert.equal(r.status, 201, show(r));
      return r.body;
    };
    // Every customer matching `query`, following cursors.
    const listAll = async (query, opts = {}) => {
      const out = [];
      let cursor = null;
      for (let pages = 0; pages < 1000; ++pages) {
        const sep = query ? '&' : '';
        const r = await call('GET', `${C}?${query}${cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ''}`, opts);
        assert.equal(r.status, 200, show(r));
        out.push(...r.body.items);
        cursor = r.body.next_cursor;
        if (!cursor) return out;
      }
      throw new Error('pagination does not end');
    };
    const ids = (items) => items.map((c) => c.id).sort((a, b) => a - b);
    const expectProblem = (r, status, field) => {
      assert.equal(r.status, status, show(r));
      assert.match(r.headers.get('content-type') || '', /application\/problem\+json/);
      assert.equal(r.body.status, status);
      assert.equal(typeof r.body.title, 'string');
      assert.equal(typeof r.body.detail, 'string');
      assert.equal(typeof r.body.code, 'string');
      assert.equal(typeof r.body.request_id, 'string');
      if (field !== undefined) assert.equal(r.body.field, field, show(r));
    };

    test('a query parameter an operation does not take is refused by name, on every operation', async () => {
      // The CLI's name for deleted customers is no parameter of the export: refused, not ignored.
      expectProblem(await call('GET', `${C}/export?format=jsonl&include_deleted=true`), 400, 'include_deleted');
      for (const path of ['/api/v1/merge-reviews?statut=pending', '/api/v1/merges?foo=1', '/api/v1/npai?x=1',
                          '/api/v1/imports?page=2', `${C}/1?expand=all`]) {
        const r = await call('GET', path);
        expectProblem(r, 400);
        assert.match(r.body.detail, /unknown query parameter/, show(r));
      }
      const twice = await call('GET', `${C}?limit=2&limit=3`);
      expectProblem(twice, 400, 'limit');
      assert.match(twice.body.detail, /given more than once/, show(twice));
      const ok = await call('GET', `${C}/export?format=jsonl&deleted=include`);
      assert.equal(ok.status, 200, show(ok));
      // A public route (a link in an e-mail) ignores what mail clients and trackers add to links.
      const pub = await api(server, 'GET', '/healthz?utm_source=newsletter&fbclid=x');
      assert.equal(pub.status, 200, show(pub));
    });

    test('lifecycle: create, normalise, get, conditional GET, PATCH with If-Match', async () => {
      const r = await call('POST', C, {
        body: {
          civility: 'Madame',
          first_name: 'jean-pierre',
          last_name: 'DUPONT',
          birth_date: '1984-07-09',
          emails: [{ email: 'Jean.Dupont@Example.FR', label: 'perso' }],
          phones: ['06 98 76 54 23', { number: '01 23 45 67 98', label: 'maison' }, '12'],
          address: { street: '1 rue de la République', postcode: '69001', city: 'lyon', country: 'fr' },
          tags: ['VIP', 'vip', ' Fidèle '],
          affinities: [{ category: 'Jardin', strength: 80 }],
          consents: [{ channel: 'email', purpose: 'newsletter', granted: true }],
          household: [{ relation: 'Enfant', first_name: 'léa', birth_date: '2015-03-02' }],
          external_ids: [{ source: 'PrestaShop', id: 'A-1' }],
        },
      });
      assert.equal(r.status, 201, show(r));
      const c = r.body;
      assert.equal(r.headers.get('etag'), '"v1"');
      assert.equal(r.headers.get('location'), `${C}/${c.id}`);
      assert.ok(Number.isInteger(c.id) && c.id > 0);
      assert.equal(c.version, 1);
      assert.equal(c.civility, 'Mme');
      assert.equal(c.first_name, 'Jean-Pierre');
      assert.equal(c.last_name, 'Dupont');
      assert.equal(c.birth_date, '1984-07-09');
      assert.deepEqual(c.emails, [{ email: 'Jean.Dupont@example.fr', label: 'perso' }]);
      assert.equal(c.phones.length, 3);
      assert.deepEqual(c.phones[0], { number: '06 98 76 54 23', e164: '+33698765423', type: 'mobile', valid: true, label: '' });
      assert.deepEqual(c.phones[1], { number: '01 23 45 67 98', e164: '+33123456798', type: 'fixed', valid: true, label: 'maison' });
      assert.equal(c.phones[2].number, '12');
      assert.equal(c.phones[2].valid, false);
      assert.equal(c.phones[2].e164, null);
      assert.deepEqual(c.address, { street: '1 rue de la République', street2: null, postcode: '69001', city: 'Lyon', country: 'FR' });
      assert.deepEqual(c.tags, ['fidèle', 'vip']);
      assert.deepEqual(c.affinities, [{ category: 'jardin', strength: 80 }]);
      assert.equal(c.consents.length, 1);
      assert.equal(c.consents[0].channel, 'email');
      assert.equal(c.consents[0].purpose, 'newsletter');
      assert.equal(c.consents[0].granted, true);
      assert.equal(c.consents[0].source, 'api');
      assert.deepEqual(c.household, [{ relation: 'enfant', first_name: 'Léa', birth_date: '2015-03-02' }]);
      assert.deepEqual(c.external_ids, [{ source: 'prestashop', id: 'A-1' }]);
      assert.equal(c.deleted_at, null);
      assert.ok(!Number.isNaN(Date.parse(c.created_at)));

      const got = await call('GET', `${C}/${c.id}`, { role: 'viewer' });
      assert.equal(got.status, 200, show(got));
      assert.equal(got.headers.get('etag'), '"v1"');
      assert.deepEqual(got.body, c);

      const notModified = await call('GET', `${C}/${c.id}`, { headers: { 'If-None-Match': '"v1"' } });
      assert.equal(notModified.status, 304);
      assert.equal(notModified.text, '');
      assert.equal(notModified.headers.get('etag'), '"v1"');

      const noIfMatch = await call('PATCH', `${C}/${c.id}`, { body: { first_name: 'Marie' } });
      expectProblem(noIfMatch, 428, 'If-Match');

      const stale = await call('PATCH', `${C}/${c.id}`, { body: { first_name: 'Marie' }, headers: { 'If-Match': '"v7"' } });
      expectProblem(stale, 412, 'If-Match');

      const badTag = await call('PATCH', `${C}/${c.id}`, { body: { first_name: 'Marie' }, headers: { 'If-Match': 'v1' } });
      expectProblem(badTag, 400, 'If-Match');

      const ok = await call('PATCH', `${C}/${c.id}`, {
        role: 'agent',
        body: { first_name: 'marie', tags: ['Gold'] },
        headers: { 'If-Match': '"v1"' },
      });
      assert.equal(ok.status, 200, show(ok));
      assert.equal(ok.headers.get('etag'), '"v2"');
      assert.equal(ok.body.version, 2);
      assert.equal(ok.body.first_name, 'Marie');
      assert.deepEqual(ok.body.tags, ['gold']);
      // Untouched fields are kept.
      for (const k of ['civility', 'last_name', 'birth_date', 'emails', 'phones', 'address', 'affinities', 'consents',
        'household', 'external_ids', 'created_at'])
        assert.deepEqual(ok.body[k], c[k], k);

      // The old ETag no longer matches; the new one does.
      assert.equal((await call('GET', `${C}/${c.id}`, { headers: { 'If-None-Match': '"v1"' } })).status, 200);
      assert.equal((await call('GET', `${C}/${c.id}`, { headers: { 'If-None-Match': '"v2"' } })).status, 304);
      const stale2 = await call('PATCH', `${C}/${c.id}`, { body: { last_name: 'X' }, headers: { 'If-Match': '"v1"' } });
      expectProblem(stale2, 412, 'If-Match');

      // null clears a scalar; the rest stays.
      const cleared = await call('PATCH', `${C}/${c.id}`, { body: { birth_date: null, civility: null }, headers: { 'If-Match': '"v2"' } });
      assert.equal(cleared.status, 200, show(cleared));
      assert.equal(cleared.headers.get('etag'), '"v3"');
      assert.equal(cleared.body.birth_date, null);
      assert.equal(cleared.body.civility, null);
      assert.equal(cleared.body.first_name, 'Marie');
      assert.equal(cleared.body.last_name, 'Dupont');
      const again = await call('GET', `${C}/${c.id}`);
      assert.deepEqual(again.body, cleared.body);

      // A GET body can be sent back as is (computed and read-only fields are accepted).
      const roundTrip = await call('PATCH', `${C}/${c.id}`, { body: again.body, headers: { 'If-Match': '"v3"' } });
      assert.equal(roundTrip.status, 200, show(roundTrip));
      for (const k of ['first_name', 'last_name', 'emails', 'phones', 'address', 'tags', 'consents', 'household', 'external_ids'])
        assert.deepEqual(roundTrip.body[k], again.body[k], k);
      assert.equal(roundTrip.body.id, c.id);
      assert.equal(roundTrip.body.version, 3);  // nothing changed: no new version
      assert.equal(roundTrip.headers.get('etag'), '"v3"');

      // If-Match: * overwrites whatever version is current.
      const star = await call('PATCH', `${C}/${c.id}`, { body: { first_name: 'Maria' }, headers: { 'If-Match': '*' } });
      assert.equal(star.status, 200, show(star));
      assert.equal(star.body.first_name, 'Maria');
      assert.equal(star.headers.get('etag'), '"v4"');

      // A customer cannot be emptied of every name, e-mail and phone.
      const emptied = await call('PATCH', `${C}/${c.id}`, {
        body: { first_name: null, last_name: null, emails: [], phones: [] },
        headers: { 'If-Match': '"v4"' },
      });
      expectProblem(emptied, 400, 'emails');
      // Nor by empty texts, which a form sends for the fields its user emptied.
      const blanked = await call('PATCH', `${C}/${c.id}`, {
        body: { first_name: '', last_name: '  ', emails: [], phones: [] },
        headers: { 'If-Match': '"v4"' },
      });
      expectProblem(blanked, 400, 'emails');
      assert.equal((await call('GET', `${C}/${c.id}`)).body.version, 4);
      // Clearing the last name of a customer known only by it names last_name.
      const onlyName = await create({ last_name: 'Seul' });
      expectProblem(await call('PATCH', `${C}/${onlyName.id}`, { body: { last_name: '' }, headers: { 'If-Match': '*' } }), 400, 'last_name');
      // An empty text clears the field like null.
      const blankFirst = await call('PATCH', `${C}/${c.id}`, { body: { first_name: ' ' }, headers: { 'If-Match': '"v4"' } });
      assert.equal(blankFirst.status, 200, show(blankFirst));
      assert.equal(blankFirst.body.first_name, null);
      assert.equal(blankFirst.body.last_name, 'Dupont');
      assert.equal(blankFirst.headers.get('etag'), '"v5"');

      const missing = await call('GET', `${C}/999999`);
      expectProblem(missing, 404);
      expectProblem(await call('GET', `${C}/abc`), 400, 'id');
    });

    test('list filters and search', async () => {
      const mk = (first, last, extra = {}) => create({ first_name: first, last_name: last, tags: ['flt'], ...extra });
      const a = await mk('Jeanne', 'Quénelle', {
        emails: ['jeanne.quenelle@exemple.fr'],
        phones: ['06 12 34 56 87'],
        address: { postcode: '42000', city: 'Saint-Étienne' },
        tags: ['flt', 'Alpha'],
        consents: [{ channel: 'email', purpose: 'newsletter', granted: true }],
      });
      const b = await mk('Paul', 'Quentin', {
        emails: ['paul.q@exemple.com'],
        phones: ['07 55 44 33 22'],
        address: { postcode: '42100', city: 'SAINT ETIENNE' },
        tags: ['flt', 'alpha', 'beta'],
        consents: [{ channel: 'email', purpose: 'newsletter', granted: false }, { channel: 'sms', purpose: 'offers', granted: true }],
      });
      const c = await mk('Zoé', 'Martinez', {
        emails: ['zoe@martinez.org'],
        phones: ['+33 1 44 55 66 77'],
        address: { postcode: '13001', city: 'Marseille' },
        consents: [{ channel: 'email', purpose: 'newsletter', granted: true }],
      });
      const all = [a, b, c];

      const q = async (query) => ids((await listAll(query)));
      assert.deepEqual(await q('tag=flt'), ids(all));
      assert.deepEqual(await q('tag=ALPHA'), ids([a, b]));
      assert.deepEqual(await q('tag=beta'), ids([b]));
      assert.deepEqual(await q('tag=nope'), []);
      // City: case- and accent-insensitive, punctuation-insensitive.
      assert.deepEqual(await q(`city=${encodeURIComponent('saint-etienne')}`), ids([a, b]));
      assert.deepEqual(await q(`city=${encodeURIComponent('SAINT ÉTIENNE')}`), ids([a, b]));
      assert.deepEqual(await q('city=marseille'), ids([c]));
      assert.deepEqual(await q('postcode=42100'), ids([b]));
      assert.deepEqual(await q('postcode=42000&tag=alpha'), ids([a]));
      assert.deepEqual(await q('consent=email:newsletter&tag=flt'), ids([a, c]));
      assert.deepEqual(await q('consent=sms:offers&tag=flt'), ids([b]));
      assert.deepEqual(await q('consent=post:service&tag=flt'), []);

      // created_after is inclusive, created_before exclusive.
      const t = b.created_at;
      const after = all.filter((x) => Date.parse(x.created_at) >= Date.parse(t));
      const beforeT = all.filter((x) => Date.parse(x.created_at) < Date.parse(t));
      assert.deepEqual(await q(`tag=flt&created_after=${encodeURIComponent(t)}`), ids(after));
      assert.deepEqual(await q(`tag=flt&created_before=${encodeURIComponent(t)}`), ids(beforeT));
      assert.deepEqual(await q(`tag=flt&created_after=2000-01-01&created_before=2000-01-02`), []);
      assert.deepEqual(await q(`tag=flt&created_after=2000-01-01T00:00:00Z`), ids(all));

      // Search: name prefix (accent-insensitive), "first last", "last first", e-mail prefix, phone prefix.
      assert.deepEqual(await q('q=quen'), ids([a, b]));
      assert.deepEqual(await q(`q=${encodeURIComponent('Quénel')}`), ids([a]));
      assert.deepEqual(await q(`q=${encodeURIComponent('jeanne quenelle')}`), ids([a]));
      assert.deepEqual(await q(`q=${encodeURIComponent('quentin paul')}`), ids([b]));
      assert.deepEqual(await q(`q=${encodeURIComponent('zoe')}`), ids([c]));
      assert.deepEqual(await q(`q=${encodeURIComponent('jeanne.q')}`), ids([a]));
      assert.deepEqual(await q(`q=${encodeURIComponent('zoe@mart')}`), ids([c]));
      assert.deepEqual(await q(`q=${encodeURIComponent('06 12')}`), ids([a]));
      assert.deepEqual(await q(`q=${encodeURIComponent('07 55 44')}`), ids([b]));
      assert.deepEqual(await q(`q=${encodeURIComponent('+33 1 44')}`), ids([c]));
      assert.deepEqual(await q(`q=${encodeURIComponent('0033755')}`), ids([b]));
      assert.deepEqual(await q(`q=xyzzy`), []);

      // Bad filters name their parameter.
      expectProblem(await call('GET', `${C}?consent=email`), 400, 'consent');
      expectProblem(await call('GET', `${C}?consent=fax:newsletter`), 400, 'consent');
      expectProblem(await call('GET', `${C}?created_after=yesterday`), 400, 'created_after');
      expectProblem(await call('GET', `${C}?created_before=2026-01-01T00:00:00`), 400, 'created_before');
      expectProblem(await call('GET', `${C}?deleted=maybe`), 400, 'deleted');
      expectProblem(await call('GET', `${C}?colour=blue`), 400, 'colour');
    });

    test('cursor pagination visits every customer exactly once', async () => {
      const made = [];
      for (let i = 0; i < 23; ++i) made.push(await create({ first_name: `Page${i}`, last_name: 'Pagination', tags: ['page'] }));
      for (const limit of [1, 5, 7, 23, 500]) {
        const seen = [];
        let cursor = null;
        let pages = 0;
        do {
          const r = await call('GET', `${C}?tag=page&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
          assert.equal(r.status, 200, show(r));
          assert.ok(r.body.items.length <= limit);
          seen.push(...r.body.items.map((x) => x.id));
          cursor = r.body.next_cursor;
          ++pages;
          assert.ok(pages <= 30, 'too many pages');
        } while (cursor);
        assert.equal(new Set(seen).size, seen.length, `limit ${limit}: an id was seen twice`);
        assert.deepEqual([...seen].sort((x, y) => x - y), ids(made), `limit ${limit}`);
        assert.deepEqual(seen, [...seen].sort((x, y) => x - y), 'ordered by id');
      }
      // The whole table, paged, equals one big page.
      const big = await call('GET', `${C}?limit=500`);
      const paged = await listAll('limit=4');
      assert.deepEqual(paged.map((x) => x.id), big.body.items.map((x) => x.id));
      assert.equal(big.body.next_cursor, null);
      // A default page is at most 50.
      const dflt = await call('GET', C);
      assert.ok(dflt.body.items.length <= 50);
    });

    test('soft delete, deleted lists, restore and consent history', async () => {
      const c = await create({
        first_name: 'Delphine',
        last_name: 'Effacée',
        consents: [{ channel: 'sms', purpose: 'offers', granted: true, source: 'questionnaire' }],
      });
      // Consent change: a new event on top.
      const changed = await call('PATCH', `${C}/${c.id}`, {
        body: { consents: [{ channel: 'sms', purpose: 'offers', granted: false, source: 'web-form' }] },
        headers: { 'If-Match': '"v1"' },
      });
      assert.equal(changed.status, 200, show(changed));
      assert.equal(changed.body.consents.length, 1);
      assert.equal(changed.body.consents[0].granted, false);
      assert.equal(changed.body.consents[0].source, 'web-form');
      const hist = await call('GET', `${C}/${c.id}/consents`, { role: 'viewer' });
      assert.equal(hist.status, 200, show(hist));
      assert.equal(hist.body.items.length, 2);
      assert.deepEqual(hist.body.items.map((e) => [e.channel, e.purpose, e.granted, e.source]), [
        ['sms', 'offers', false, 'web-form'],
        ['sms', 'offers', true, 'questionnaire'],
      ]);
      for (const e of hist.body.items) assert.ok(!Number.isNaN(Date.parse(e.at)));
      for (const e of hist.body.items) assert.equal(e.source_at, null);  // no date given
      expectProblem(await call('GET', `${C}/999999/consents`), 404);

      // A consent the person gave on paper last spring: when they decided, beside when it was recorded.
      const dated = await call('PATCH', `${C}/${c.id}`, {
        body: { consents: [{ channel: 'post', purpose: 'offers', granted: true, source: 'magasin', source_at: '2026-04-02' }] },
        headers: { 'If-Match': '"v2"' },
      });
      assert.equal(dated.status, 200, show(dated));
      const post = dated.body.consents.find((k) => k.channel === 'post');
      assert.equal(post.source_at, '2026-04-02T00:00:00.000Z');
      assert.ok(Date.parse(post.changed_at) > Date.parse(post.source_at));
      const hist2 = await call('GET', `${C}/${c.id}/consents`);
      assert.equal(hist2.body.items[0].source_at, '2026-04-02T00:00:00.000Z');
      assert.equal((await call('GET', `${C}/${c.id}`)).body.consents.find((k) => k.channel === 'post').source_at,
                   '2026-04-02T00:00:00.000Z');
      // A date to come, or no date at all, is refused by name; nothing changes.
      for (const [at, why] of [['2099-01-01', 'future'], ['le 2 avril', '']]) {
        const bad = await call('PATCH', `${C}/${c.id}`, {
          body: { consents: [{ channel: 'post', purpose: 'offers', granted: false, source_at: at }] },
          headers: { 'If-Match': '"v3"' },
        });
        expectProblem(bad, 400, 'consents[0].source_at');
        if (why) assert.match(show(bad), new RegExp(why));
      }
      assert.equal((await call('GET', `${C}/${c.id}`)).body.consents.find((k) => k.channel === 'post').granted, true);

      // Delete needs customers:delete: agent cannot, marketer can.
      expectProblem(await call('DELETE', `${C}/${c.id}`, { role: 'agent' }), 403);
      const del = await call('DELETE', `${C}/${c.id}`, { role: 'marketer' });
      assert.equal(del.status, 204, show(del));
      assert.equal(del.text, '');
      expectProblem(await call('GET', `${C}/${c.id}`), 404);
      expectProblem(await call('DELETE', `${C}/${c.id}`), 404);
      assert.ok(!(await listAll('')).some((x) => x.id === c.id), 'a deleted customer is not listed');

      // Only admins see deleted customers.
      expectProblem(await call('GET', `${C}?deleted=only`, { role: 'marketer' }), 403);
      expectProblem(await call('GET', `${C}?deleted=include`, { role: 'viewer' }), 403);
      const only = await call('GET', `${C}?deleted=only`);
      assert.equal(only.status, 200, show(only));
      assert.deepEqual(only.body.items.map((x) => x.id), [c.id]);
      assert.ok(only.body.items[0].deleted_at);
      const incl = await listAll('deleted=include');
      assert.ok(incl.some((x) => x.id === c.id));
      expectProblem(await call('GET', `${C}/${c.id}?deleted=include`, { role: 'marketer' }), 403);
      expectProblem(await call('GET', `${C}/${c.id}?deleted=maybe`), 400, 'deleted');
      const withDeleted = await call('GET', `${C}/${c.id}?deleted=include`);
      assert.equal(withDeleted.status, 200, show(withDeleted));
      assert.ok(withDeleted.body.deleted_at);
      // The history of a deleted customer is still there.
      assert.equal((await call('GET', `${C}/${c.id}/consents`)).status, 200);

      // Restore: admin only.
      expectProblem(await call('POST', `${C}/${c.id}/restore`, { role: 'marketer' }), 403);
      const restored = await call('POST', `${C}/${c.id}/restore`);
      assert.equal(restored.status, 200, show(restored));
      assert.equal(restored.body.deleted_at, null);
      assert.equal(restored.body.last_name, 'Effacée');
      assert.equal(restored.headers.get('etag'), `"v${restored.body.version}"`);
      assert.equal((await call('GET', `${C}/${c.id}`)).status, 200);
      // Restoring a live customer is a precondition failure; an unknown one is 404.
      expectProblem(await call('POST', `${C}/${c.id}/restore`), 412);
      expectProblem(await call('POST', `${C}/999999/restore`), 404);

      // Delete with a stale If-Match is refused.
      expectProblem(await call('DELETE', `${C}/${c.id}`, { headers: { 'If-Match': '"v1"' } }), 412);
      const v = restored.body.version;
      assert.equal((await call('DELETE', `${C}/${c.id}`, { headers: { 'If-Match': `"v${v}"` } })).status, 204);
      assert.equal((await call('POST', `${C}/${c.id}/restore`)).status, 200);
    });

    test('Idempotency-Key: a retried create is replayed, not repeated', async () => {
      const key = `idem-${driver}-${Date.now()}`;
      const body = { first_name: 'Ida', last_name: 'Empotent', tags: ['idem'] };
      const first = await call('POST', C, { body, headers: { 'Idempotency-Key': key }, role: 'sales' });
      assert.equal(first.status, 201, show(first));
      assert.equal(first.headers.get('idempotent-replayed'), null);
      const second = await call('POST', C, { body, headers: { 'Idempotency-Key': key }, role: 'sales' });
      assert.equal(second.status, 201, show(second));
      assert.equal(second.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(second.body, first.body);
      assert.equal(second.text, first.text);
      assert.equal(second.headers.get('etag'), first.headers.get('etag'));
      assert.equal(second.headers.get('location'), first.headers.get('location'));
      assert.equal(second.headers.get('location'), `${C}/${first.body.id}`);
      // The same key with a different body is a client error, not a replay.
      const different = await call('POST', C, { body: { ...body, first_name: 'Autre' }, headers: { 'Idempotency-Key': key }, role: 'sales' });
      expectProblem(different, 400, 'Idempotency-Key');
      const list = await listAll('tag=idem');
      assert.equal(list.length, 1, 'only one customer created');
      // Another caller with the same key is a different request.
      const other = await call('POST', C, { body, headers: { 'Idempotency-Key': key }, role: 'agent' });
      assert.equal(other.status, 201, show(other));
      assert.equal(other.headers.get('idempotent-replayed'), null);
      assert.notEqual(other.body.id, first.body.id);
      // An error answer is replayed too (a 4xx is final).
      const k2 = `${key}-bad`;
      const bad1 = await call('POST', C, { body: { nmae: 'x' }, headers: { 'Idempotency-Key': k2 } });
      expectProblem(bad1, 400, 'nmae');
      const bad2 = await call('POST', C, { body: { nmae: 'x' }, headers: { 'Idempotency-Key': k2 } });
      assert.equal(bad2.status, 400);
      assert.equal(bad2.headers.get('idempotent-replayed'), 'true');
      // Too long a key.
      expectProblem(await call('POST', C, { body, headers: { 'Idempotency-Key': 'k'.repeat(201) } }), 400, 'Idempotency-Key');
    });

    test('duplicate e-mail is a conflict', async () => {
      await create({ last_name: 'Unique', emails: ['unique.person@example.org'] });
      const dup = await call('POST', C, { body: { last_name: 'Copy', emails: ['Unique.Person@EXAMPLE.org'] } });
      expectProblem(dup, 409, 'emails[0].email');
      const dup2 = await call('POST', C, { body: { last_name: 'Copy', emails: ['other@example.org', 'unique.person@example.org'] } });
      assert.equal(dup2.status, 409, show(dup2));
      assert.match(dup2.body.field, /^emails\[1\]\.email$/);
      const twice = await call('POST', C, { body: { emails: ['a@b.fr', 'A@B.FR'] } });
      expectProblem(twice, 400, 'emails[1].email');
    });

    test('bad input is refused naming the field', async () => {
      const cases = [
        [{ birth_date: '1984-13-45' }, 'birth_date'],
        [{ birth_date: '09/07/1984' }, 'birth_date'],
        [{ birth_date: '2999-01-01' }, 'birth_date'],
        [{ birth_date: '--02-30' }, 'birth_date'],
        [{ last_name: 'Sansmail', emails: ['ok@exemple.fr', 'noemail@nomail.com'] }, 'emails[1].email'],
        [{ birth_date: '12/05' }, 'birth_date'],
        [{ household: [{ relation: 'enfant', birth_date: '--13-01' }] }, 'household[0].birth_date'],
        [{ emails: ['not-an-email'] }, 'emails[0].email'],
        [{ emails: [{ email: 'x@nodot' }] }, 'emails[0].email'],
        [{ address: { postcode: '6900' } }, 'address.postcode'],
        [{ address: { postcode: '6900', country: 'FR' } }, 'address.postcode'],
        [{ address: { postcode: '75 01' } }, 'address.postcode'],
        [{ address: { postcode: 'AB-123', country: 'FR' } }, 'address.postcode'],
        [{ address: { country: 'France' } }, 'address.country'],
        [{ nmae: 'Dupont' }, 'nmae'],
        [{ first_name: 12 }, 'first_name'],
        [{ tags: 'vip' }, 'tags'],
        [{ tags: [1] }, 'tags[0]'],
        [{ tags: ['vip', 'or|argent'] }, 'tags[1]'],
        [{ tags: ['salon 2026, Lyon'] }, 'tags[0]'],
        [{ tags: ['vip', 'deux\tmots'] }, 'tags[1]'],
        [{ tags: ['ligne\ncoupée'] }, 'tags[0]'],
        [{ affinities: [{ category: 'jardin', strength: 101 }] }, 'affinities[0].strength'],
        [{ affinities: [{ category: 'jardin', strength: -1 }] }, 'affinities[0].strength'],
        [{ consents: [{ channel: 'fax', purpose: 'newsletter', granted: true }] }, 'consents[0].channel'],
        [{ consents: [{ channel: 'email', purpose: 'spam', granted: true }] }, 'consents[0].purpose'],
        [{ consents: [{ channel: 'email', purpose: 'offers' }] }, 'consents[0].granted'],
        [{ civility: 'Sir' }, 'civility'],
        [{ phones: [{ label: 'x' }] }, 'phones[0].number'],
        [{ household: [{ first_name: 'Léa' }] }, 'household[0].relation'],
        [{ address: { zip: '75001' } }, 'address.zip'],
      ];
      for (const [body, field] of cases) {
        const r = await call('POST', C, { body });
        expectProblem(r, 400, field);
        assert.equal(r.body.errors, undefined, show(r));
      }
      // Several bad fields: every one is listed with its reason, positions as sent.
      const several = await call('POST', C, {
        body: { last_name: 'Plusieurs', birth_date: '31/02/1990', emails: ['jean@', 'ok@exemple.fr', '06 11 22 33 44'], civility: 'Sir' },
      });
      expectProblem(several, 400);
      assert.deepEqual(several.body.errors.map((e) => e.field).sort(), ['birth_date', 'civility', 'emails[0].email', 'emails[2].email']);
      assert.deepEqual(several.body.errors[0], { field: several.body.field, detail: several.body.detail });
      assert.match(several.body.errors.find((e) => e.field === 'emails[2].email').detail, /phone number/);
      // Bad items in a row, a strength out of range, and mistakes of form (a consent's channel)
      // are listed too, each at its position as sent.
      const rows = await call('POST', C, {
        body: { last_name: 'X', birth_date: 'x', emails: ['ok@x.com', 'a b', 'c d'], tags: ['ok', 'a|b', 'c|d'], affinities: [{ category: 'jardin', strength: 500 }] },
      });
      expectProblem(rows, 400);
      assert.deepEqual(rows.body.errors.map((e) => e.field).sort(),
        ['affinities[0].strength', 'birth_date', 'emails[1].email', 'emails[2].email', 'tags[1]', 'tags[2]']);
      const form = await call('POST', C, {
        body: { last_name: 'X', first_name: 12, consents: [{ channel: 'fax', purpose: 'newsletter', granted: true }, { channel: 'email', purpose: 'zz', granted: true }] },
      });
      expectProblem(form, 400);
      assert.deepEqual(form.body.errors.map((e) => e.field), ['first_name', 'consents[0].channel', 'consents[1].purpose']);
      // A birthday without its year (ISO 8601's --MM-DD), for the customer and a child.
      const bday = await call('POST', C, {
        body: { last_name: 'Sansannée', birth_date: '--02-29', household: [{ relation: 'enfant', first_name: 'Léa', birth_date: '--04-02' }] },
      });
      assert.equal(bday.status, 201, show(bday));
      assert.equal(bday.body.birth_date, '--02-29');
      assert.equal(bday.body.household[0].birth_date, '--04-02');
      assert.equal((await call('GET', `${C}/${bday.body.id}`)).body.birth_date, '--02-29');
      // A domain mistyped from a common provider's is kept and flagged with the one perhaps meant.
      const typo = await call('POST', C, { body: { last_name: 'Coquille', emails: ['coquille@hotmial.fr'] } });
      assert.equal(typo.status, 201, show(typo));
      assert.equal(typo.body.emails[0].email, 'coquille@hotmial.fr');
      const typoFlags = await call('GET', `${C}/${typo.body.id}/flags`);
      assert.equal(typoFlags.status, 200, show(typoFlags));
      assert.deepEqual(typoFlags.body.items.map((f) => [f.field, f.value]), [['email', 'coquille@hotmial.fr']]);
      assert.match(typoFlags.body.items[0].reason, /hotmail\.fr was perhaps meant/);
      // Foreign postcodes follow their own rules.
      assert.equal((await call('POST', C, { body: { last_name: 'Belge', address: { postcode: '1000', country: 'BE' } } })).status, 201);
      // Without a country, a postcode not written in digits is no French one: kept as given, and a
      // GET body of such a customer can be sent back.
      const abroad = await call('POST', C, { body: { last_name: 'Ailleurs', address: { postcode: 'SW1A 1AA', city: 'London' } } });
      assert.equal(abroad.status, 201, show(abroad));
      assert.equal(abroad.body.address.postcode, 'SW1A 1AA');
      const sentBack = await call('PATCH', `${C}/${abroad.body.id}`, { body: abroad.body, headers: { 'If-Match': '*' } });
      assert.equal(sentBack.status, 200, show(sentBack));

      // Body and framing problems.
      expectProblem(await call('POST', C, { raw: '{"first_name": ', headers: { 'Content-Type': 'application/json' } }), 400, 'body');
      expectProblem(await call('POST', C, { raw: '[1, 2]', headers: { 'Content-Type': 'application/json' } }), 400, 'body');
      expectProblem(await call('POST', C, { raw: '{"first_name":"x"}', headers: { 'Content-Type': 'text/plain' } }), 400, 'Content-Type');
      expectProblem(await call('POST', C, { raw: '{"first_name":"x"}' }), 400, 'Content-Type');

      // Query parameters.
      for (const limit of ['0', '501', 'abc', '-1', '']) expectProblem(await call('GET', `${C}?limit=${limit}`), 400, 'limit');
      for (const cursor of ['garbage', 'YWZ0ZXI6', Buffer.from('before:3').toString('base64url')])
        expectProblem(await call('GET', `${C}?cursor=${cursor}`), 400, 'cursor');

      // PATCH validates the same way.
      const c = await create({ last_name: 'Valide' });
      const p = await call('PATCH', `${C}/${c.id}`, { body: { birth_date: '2999-01-01' }, headers: { 'If-Match': '"v1"' } });
      expectProblem(p, 400, 'birth_date');
      const p2 = await call('PATCH', `${C}/${c.id}`, { body: { emails: null, nmae: 'x' }, headers: { 'If-Match': '"v1"' } });
      expectProblem(p2, 400, 'nmae');
      // Nothing changed.
      assert.equal((await call('GET', `${C}/${c.id}`)).body.version, 1);
    });

    test('custom fields: defined by admins, typed', async () => {
      const def = { key: 'vip_level', label: 'Niveau VIP', type: 'integer' };
      expectProblem(await call('POST', '/api/v1/custom-fields', { body: def, role: 'marketer' }), 403);
      const created = await call('POST', '/api/v1/custom-fields', { body: def });
      assert.equal(created.status, 201, show(created));
      assert.deepEqual(created.body, { key: 'vip_level', label: 'Niveau VIP', type: 'integer', choices: [] });
      expectProblem(await call('POST', '/api/v1/custom-fields', { body: def }), 409, 'key');
      const choice = await call('POST', '/api/v1/custom-fields', {
        body: { key: 'magasin', label: 'Magasin', type: 'choice', choices: ['Lyon', 'Paris'] },
      });
      assert.equal(choice.status, 201, show(choice));
      expectProblem(await call('POST', '/api/v1/custom-fields', { body: { key: 'Bad-Key', type: 'text' } }), 400, 'key');
      expectProblem(await call('POST', '/api/v1/custom-fields', { body: { key: 'k2', type: 'colour' } }), 400, 'type');
      const list = await call('GET', '/api/v1/custom-fields', { role: 'viewer' });
      assert.equal(list.status, 200, show(list));
      assert.deepEqual(list.body.items.map((d) => d.key).sort(), ['magasin', 'vip_level']);

      const c = await create({ last_name: 'Custom', custom_fields: { vip_level: 3, magasin: 'Lyon' } });
      assert.deepEqual(c.custom_fields, { vip_level: 3, magasin: 'Lyon' });
      expectProblem(await call('POST', C, { body: { custom_fields: { vip_level: 'gold' } } }), 400, 'custom_fields.vip_level');
      expectProblem(await call('POST', C, { body: { custom_fields: { vip_level: 2.5 } } }), 400, 'custom_fields.vip_level');
      expectProblem(await call('POST', C, { body: { custom_fields: { magasin: 'Nice' } } }), 400, 'custom_fields.magasin');
      expectProblem(await call('POST', C, { body: { custom_fields: { undefined_key: 1 } } }), 400, 'custom_fields.undefined_key');
      expectProblem(await call('POST', C, { body: { custom_fields: { vip_level: [1] } } }), 400, 'custom_fields.vip_level');
      // PATCH: null removes one value, others stay.
      const p = await call('PATCH', `${C}/${c.id}`, { body: { custom_fields: { vip_level: null } }, headers: { 'If-Match': '"v1"' } });
      assert.equal(p.status, 200, show(p));
      assert.deepEqual(p.body.custom_fields, { magasin: 'Lyon' });
    });

    test('concurrent creates with the same e-mail: exactly one customer gets it', async () => {
      // A few rounds: the race, when there is one, does not show every time.
      for (let round = 0; round < 3; ++round) {
        const email = `race${round}.${driver}@example.fr`;
        const rs = await Promise.all(Array.from({ length: 10 }, (_, i) =>
          call('POST', C, { body: { last_name: `Race${i}`, emails: [email] } })));
        const statuses = rs.map((r) => r.status);
        assert.equal(statuses.filter((s) => s === 201).length, 1, `${email}: statuses ${statuses.join(',')}`);
        for (const r of rs.filter((x) => x.status !== 201)) expectProblem(r, 409, 'emails[0].email');
        const found = await listAll(`q=${encodeURIComponent(email)}`);
        assert.equal(found.length, 1, `${found.length} live customers share ${email}`);
      }
    });

    test('restoring a customer whose e-mail was taken meanwhile is a conflict', async () => {
      const email = 'restore.conflict@example.fr';
      const old = await create({ last_name: 'Ancien', emails: [email] });
      assert.equal((await call('DELETE', `${C}/${old.id}`)).status, 204);
      // Once deleted, the address is free for someone else...
      const taker = await create({ last_name: 'Nouveau', emails: [email] });
      // ...so bringing the old profile back would give two live customers the same address.
      const r = await call('POST', `${C}/${old.id}/restore`);
      expectProblem(r, 409, 'emails[0].email');
      assert.equal((await call('GET', `${C}/${old.id}`)).status, 404, 'the conflicting customer stays deleted');
      assert.deepEqual(ids(await listAll(`q=${encodeURIComponent(email)}`)), [taker.id]);
    });

    test('concurrent PATCHes with the same If-Match: exactly one wins', async () => {
      const c = await create({ last_name: 'Concurrent' });
      const rs = await Promise.all(Array.from({ length: 8 }, (_, i) =>
        call('PATCH', `${C}/${c.id}`, { body: { first_name: `N${i}` }, headers: { 'If-Match': '"v1"' } })));
      const statuses = rs.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 200).length, 1, `statuses: ${statuses.join(',')}`);
      // The losers get 412 (their If-Match is stale), or 409 when they lost the race inside the
      // database ("the customer changed during the update; retry").
      for (const r of rs.filter((x) => x.status !== 200)) {
        if (r.status === 409) expectProblem(r, 409);
        else expectProblem(r, 412, 'If-Match');
      }
      const now = await call('GET', `${C}/${c.id}`);
      assert.equal(now.body.version, 2);
      assert.equal(now.body.first_name, rs.find((r) => r.status === 200).body.first_name);
    });

    test('concurrent retries with one Idempotency-Key create one customer', async () => {
      const key = `idem-race-${driver}`;
      const rs = await Promise.all(Array.from({ length: 8 }, () =>
        call('POST', C, { body: { last_name: 'Retry', tags: ['idemrace'] }, headers: { 'Idempotency-Key': key } })));
      for (const r of rs) assert.ok(r.status === 201 || r.status === 409, show(r));
      const created = rs.filter((r) => r.status === 201);
      assert.ok(created.length >= 1);
      assert.equal(new Set(created.map((r) => r.body.id)).size, 1, 'every 201 names the same customer');
      assert.equal((await listAll('tag=idemrace')).length, 1);
    });

    test("non-admins do not see a deleted customer's consent history", async () => {
      const c = await create({ last_name: 'Discret', consents: [{ channel: 'email', purpose: 'offers', granted: true }] });
      assert.equal((await call('DELETE', `${C}/${c.id}`)).status, 204);
      // Like GET /customers/{id}: a deleted customer does not exist for them.
      expectProblem(await call('GET', `${C}/${c.id}`, { role: 'viewer' }), 404);
      expectProblem(await call('GET', `${C}/${c.id}/consents`, { role: 'viewer' }), 404);
      expectProblem(await call('GET', `${C}/${c.id}/consents`, { role: 'marketer' }), 404);
    });

    test('conditional GET uses weak comparison, lists and * (RFC 9110 13.1.2)', async () => {
      const c = await create({ last_name: 'Conditionnel' });
      for (const inm of ['"v1"', 'W/"v1"', '"v0", "v1"', '"v9",W/"v1"', '*']) {
        const r = await call('GET', `${C}/${c.id}`, { headers: { 'If-None-Match': inm } });
        assert.equal(r.status, 304, `If-None-Match: ${inm} -> ${r.status}`);
      }
      for (const inm of ['"v2"', 'W/"v2"', '"v0", "v2"']) {
        const r = await call('GET', `${C}/${c.id}`, { headers: { 'If-None-Match': inm } });
        assert.equal(r.status, 200, `If-None-Match: ${inm} -> ${r.status}`);
      }
    });

    test('media types are case-insensitive and may carry parameters', async () => {
      for (const ct of ['application/json; charset=utf-8', 'Application/JSON', 'APPLICATION/JSON; charset=UTF-8']) {
        const r = await call('POST', C, { raw: JSON.stringify({ last_name: 'Media' }), headers: { 'Content-Type': ct } });
        assert.equal(r.status, 201, `Content-Type: ${ct} -> ${show(r)}`);
      }
    });

    test('audit log records who did what', async () => {
      const c = await create({ last_name: 'Audité' }, { role: 'marketer' });
      const up = await call('PATCH', `${C}/${c.id}`, { body: { first_name: 'Anne' }, headers: { 'If-Match': '"v1"' }, role: 'agent' });
      assert.equal(up.status, 200, show(up));
      assert.equal((await call('DELETE', `${C}/${c.id}`, { role: 'marketer' })).status, 204);
      assert.equal((await call('POST', `${C}/${c.id}/restore`)).status, 200);

      expectProblem(await call('GET', `/api/v1/audit?entity=customer&entity_id=${c.id}`, { role: 'viewer' }), 403);
      expectProblem(await call('GET', `/api/v1/audit?entity=customer&entity_id=${c.id}`, { role: 'marketer' }), 403);
      const r = await call('GET', `/api/v1/audit?entity=customer&entity_id=${c.id}`);
      assert.equal(r.status, 200, show(r));
      const entries = r.body.items;
      for (const e of entries) {
        assert.equal(e.entity, 'customer');
        assert.equal(String(e.entity_id), String(c.id));
      }
      const byAction = Object.fromEntries(entries.map((e) => [e.action, e]));
      assert.deepEqual(entries.map((e) => e.action).sort(),
        ['customer.create', 'customer.delete', 'customer.restore', 'customer.update']);
      assert.equal(byAction['customer.create'].actor.name, 'test-marketer');
      assert.equal(byAction['customer.create'].actor.type, 'api_key');
      assert.equal(byAction['customer.update'].actor.name, 'test-agent');
      assert.equal(byAction['customer.delete'].actor.name, 'test-marketer');
      assert.equal(byAction['customer.restore'].actor.name, 'test-admin');
      assert.equal(byAction['customer.create'].before, null);
      assert.ok(byAction['customer.create'].after);
      assert.ok(!Number.isNaN(Date.parse(byAction['customer.update'].at)));
      // Newest first.
      assert.equal(entries[0].action, 'customer.restore');
      assert.equal(entries.at(-1).action, 'customer.create');

      // Paging through the audit log with a cursor.
      const page1 = await call('GET', '/api/v1/audit?limit=2');
      assert.equal(page1.status, 200, show(page1));
      assert.equal(page1.body.items.length, 2);
      assert.ok(page1.body.next_cursor);
      const page2 = await call('GET', `/api/v1/audit?limit=2&cursor=${encodeURIComponent(page1.body.next_cursor)}`);
      assert.equal(page2.status, 200, show(page2));
      const seen = new Set(page1.body.items.map((e) => e.id));
      for (const e of page2.body.items) assert.ok(!seen.has(e.id));
      assert.ok(page2.body.items.every((e) => e.id < page1.body.items.at(-1).id));
    });
  });
}
