// The `fidelis` command line: help, key and user management, configuration from the environment,
// errors that name what is wrong, and demo data served over the API.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drivers, startServer, spawnServer, freshDatabase, cli, cliOk, api, show } from './harness.mjs';

// The secret is base64url, so it may itself contain '_': the capture, not a split, isolates it.
const KEY_RE = /^fid_[A-Za-z0-9]{8}_([A-Za-z0-9_-]{43})$/;

describe('help and argument errors (no database)', () => {
  const commands = [
    [], ['serve'], ['migrate'], ['user'], ['user', 'add'], ['user', 'list'], ['user', 'disable'], ['user', 'enable'],
    ['apikey'], ['apikey', 'create'], ['apikey', 'revoke'], ['apikey', 'list'], ['demo'], ['routes'],
  ];
  for (const cmd of commands) {
    test(`fidelis ${[...cmd, '--help'].join(' ')}`, async () => {
      const r = await cli([...cmd, '--help']);
      assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}`);
      assert.match(r.stdout, /Usage:/);
      if (cmd.length) assert.ok(r.stdout.includes(cmd.join(' ')), r.stdout);
    });
  }

  test('help lists the options that matter', async () => {
    const expectations = {
      'serve': ['--listen'],
      'user add': ['--email', '--name', '--role', '--password'],
      'apikey create': ['--name', '--role', '--scopes'],
      'demo': ['--customers', '--seed'],
      '': ['--db', '--config', '--log-level', 'serve', 'migrate', 'user', 'apikey', 'demo', 'routes'],
    };
    for (const [cmd, words] of Object.entries(expectations)) {
      const r = await cliOk([...(cmd ? cmd.split(' ') : []), '--help']);
      for (const w of words) assert.ok(r.stdout.includes(w), `${cmd} --help does not mention ${w}:\n${r.stdout}`);
    }
  });

  test('no subcommand, an unknown one, or a missing required option: non-zero', async () => {
    for (const args of [[], ['frobnicate'], ['user'], ['user', 'add'], ['apikey', 'create'], ['apikey', 'revoke']]) {
      const r = await cli(args);
      assert.notEqual(r.code, 0, `fidelis ${args.join(' ')} exited 0`);
      assert.ok(r.stderr.length + r.stdout.length > 0);
    }
  });

  test('--db with an unsupported URL: non-zero, stderr names db', async () => {
    const r = await cli(['--db', 'mysql://x', 'migrate']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\bdb\b/);
    assert.match(r.stderr, /mysql:\/\/x/);
  });

  test('bad configuration from the environment names the key', async () => {
    const r = await cli(['migrate'], { env: { FIDELIS_HTTP_MAX_BODY_BYTES: 'lots', FIDELIS_DB: 'sqlite::memory:' } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /max_body_bytes/);
    const r2 = await cli(['--log-level', 'chatty', 'migrate'], { env: { FIDELIS_DB: 'sqlite::memory:' } });
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /log_level/);
  });

  test('routes prints JSON', async () => {
    const r = await cliOk(['routes']);
    const routes = JSON.parse(r.stdout);
    assert.ok(Array.isArray(routes) && routes.length > 0);
    for (const k of ['method', 'path', 'operation_id', 'permission', 'public', 'roles']) assert.ok(k in routes[0], k);
  });
});

for (const driver of drivers()) {
  describe(driver, () => {
    const cleanups = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c();
    });
    async function fresh() {
      const f = await freshDatabase(driver);
      cleanups.push(f.drop);
      return f.db;
    }

    test('apikey create prints the key alone on the last line; list never shows it; revoke', async () => {
      const db = await fresh();
      const r = await cliOk(['--db', db, 'apikey', 'create', '--name', 'shop-sync', '--role', 'sales', '--scopes', 'customers:read,customers:write']);
      const lines = r.stdout.trimEnd().split('\n');
      const key = lines.at(-1);
      assert.match(key, KEY_RE);
      assert.match(r.stdout, /customers:read/);
      const list = await cliOk(['--db', db, 'apikey', 'list']);
      assert.match(list.stdout, /shop-sync/);
      assert.match(list.stdout, /active/);
      assert.equal(list.stdout.includes(key.match(KEY_RE)[1]), false, 'the list never shows a secret');
      const dup = await cli(['--db', db, 'apikey', 'create', '--name', 'shop-sync']);
      assert.notEqual(dup.code, 0);
      assert.match(dup.stderr, /name/);
      const badScope = await cli(['--db', db, 'apikey', 'create', '--name', 'v', '--role', 'viewer', '--scopes', 'customers:write']);
      assert.notEqual(badScope.code, 0);
      assert.match(badScope.stderr, /scopes/);
      const badRole = await cli(['--db', db, 'apikey', 'create', '--name', 'r', '--role', 'root']);
      assert.notEqual(badRole.code, 0);
      assert.match(badRole.stderr, /role/);
      await cliOk(['--db', db, 'apikey', 'revoke', '--name', 'shop-sync']);
      assert.match((await cliOk(['--db', db, 'apikey', 'list'])).stdout, /shop-sync.*revoked/);
      const again = await cli(['--db', db, 'apikey', 'revoke', '--name', 'shop-sync']);
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /name/);
    });

    test('import customers --mapping reads only the mapped columns; --default-country is checked and used', async () => {
      const db = await fresh();
      const dir = mkdtempSync(join(tmpdir(), 'fidelis-cli-import-'));
      try {
        const file = join(dir, 'belges.csv');
        writeFileSync(file, 'ID;Nom client;Nom;Tel;Mail\r\n1;Peeters;Ignoré;0470 12 34 56;an.peeters@exemple.be\r\n');
        const map = join(dir, 'map.json');
        writeFileSync(map, JSON.stringify({ 'Nom client': 'last_name', Tel: 'phone', Mail: 'email' }));
        const bad = await cli(['--db', db, 'import', 'customers', file, '--source', 'bxl', '--mapping', map, '--default-country', 'Belgique']);
        assert.notEqual(bad.code, 0);
        assert.match(bad.stderr, /default_country/);
        // The mapping may also be given inline, as JSON.
        const inline = await cliOk(['--db', db, 'import', 'customers', file, '--source', 'bxl', '--dry-run', '--mapping',
          JSON.stringify({ 'Nom client': 'last_name', Tel: 'phone', Mail: 'email' })]);
        assert.match(inline.stdout, /"Nom client" +-> last_name/);
        await cliOk(['--db', db, 'import', 'customers', file, '--source', 'bxl', '--mapping', map, '--default-country', 'be']);
        const out = await cliOk(['--db', db, 'export', 'customers', '--format', 'jsonl']);
        const rows = out.stdout.trim().split('\n').map((l) => JSON.parse(l));
        assert.equal(rows.length, 1, out.stdout);
        const c = rows[0];
        assert.equal(c.last_name, 'Peeters');
        assert.deepEqual(c.external_ids, [], 'the unmapped "ID" column is not taken for an id');
        // Without a country code, the number is read as one of the import's default country.
        assert.deepEqual(c.phones.map((p) => [p.e164, p.type, p.valid]), [['+32470123456', 'mobile', true]]);
        // The dry run's columns line up whatever the accents; --batch 0 is refused under its own name.
        const accents = join(dir, 'accents.csv');
        writeFileSync(accents, 'Prénom;Nom;Téléphone\r\nAnaïs;Leroy;06 12 34 56 87\r\n');
        const dry = await cliOk(['--db', db, 'import', 'customers', accents, '--source', 'x', '--dry-run']);
        const arrows = dry.stdout.split('\n').filter((l) => l.startsWith('  column ')).map((l) => [...l].indexOf('>'));
        assert.equal(arrows.length, 3, dry.stdout);
        assert.equal(new Set(arrows).size, 1, dry.stdout);
        // It shows the consents a row gives or withdraws.
        const news = join(dir, 'news.csv');
        writeFileSync(news, 'email,nom,Newsletter\nzoe@exemple.fr,Martin,oui\nluc@exemple.fr,Petit,non\n');
        const newsDry = await cliOk(['--db', db, 'import', 'customers', news, '--source', 'x', '--dry-run']);
        assert.match(newsDry.stdout, /line 2: .*\n    consent email:newsletter given\n/, newsDry.stdout);
        assert.match(newsDry.stdout, /line 3: .*\n    consent email:newsletter withdrawn/, newsDry.stdout);
        // And how a full name is split, and the labels of e-mails and phones.
        const google = join(dir, 'google.csv');
        writeFileSync(google, 'Name,E-mail 1 - Value,Phone 1 - Label,Phone 1 - Value\nGuillaume de Saint Jacques,g@exemple.fr,* Mobile,06 11 22 33 44\n');
        const googleDry = await cliOk(['--db', db, 'import', 'customers', google, '--source', 'x', '--dry-run']);
        assert.match(googleDry.stdout, /"Phone 1 - Label" +-> label:Phone 1 - Value/, googleDry.stdout);
        assert.match(googleDry.stdout, /first name 'Guillaume', last name 'de Saint Jacques'/, googleDry.stdout);
        assert.match(googleDry.stdout, /label of \+33611223344: Mobile/, googleDry.stdout);
        // And what the import would do with each row: a list of addresses updates the customer who
        // has them (Peeters, imported above: nothing new for her); someone new is a new customer.
        const again = join(dir, 'again.csv');
        writeFileSync(again, 'Mail;Nom;Prénom\r\nan.peeters@exemple.be;;\r\nbart@exemple.be;Janssens;Bart\r\n');
        const againDry = await cliOk(['--db', db, 'import', 'customers', again, '--source', 'bxl', '--dry-run']);
        assert.match(againDry.stdout, /line 2: .*\n    updates customer 1 \(its e-mail\), which it brings nothing new: unchanged\n/,
          againDry.stdout);
        assert.doesNotMatch(againDry.stdout, /line 3: .*\n    (updates|merges|goes)/, againDry.stdout);
        const zero = await cli(['--db', db, 'import', 'customers', accents, '--source', 'x', '--batch', '0']);
        assert.notEqual(zero.code, 0);
        assert.match(zero.stderr, /batch/);
        assert.doesNotMatch(zero.stderr, /batch_rows/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('user add / list / disable / enable; short passwords are refused naming password', async () => {
      const db = await fresh();
      const short = await cli(['--db', db, 'user', 'add', '--email', 'a@example.fr', '--password', 'short']);
      assert.notEqual(short.code, 0);
      assert.match(short.stderr, /password/);
      const badEmail = await cli(['--db', db, 'user', 'add', '--email', 'not-an-email', '--password', 'long enough password']);
      assert.notEqual(badEmail.code, 0);
      assert.match(badEmail.stderr, /email/);
      await cliOk(['--db', db, 'user', 'add', '--email', 'Bob@Example.FR', '--name', 'Bob', '--role', 'marketer', '--password', 'long enough password']);
      const gen = await cliOk(['--db', db, 'user', 'add', '--email', 'gen@example.fr']);
      assert.match(gen.stdout, /password: \S{10,}/);
      const dup = await cli(['--db', db, 'user', 'add', '--email', 'bob@example.fr', '--password', 'long enough password']);
      assert.notEqual(dup.code, 0);
      assert.match(dup.stderr, /email/);
      let list = await cliOk(['--db', db, 'user', 'list']);
      assert.match(list.stdout, /bob@example\.fr\s+marketer\s+Bob/);
      assert.match(list.stdout, /gen@example\.fr\s+viewer/);
      await cliOk(['--db', db, 'user', 'disable', '--email', 'bob@example.fr']);
      list = await cliOk(['--db', db, 'user', 'list']);
      assert.match(list.stdout, /bob@example\.fr.*\(disabled\)/);
      await cliOk(['--db', db, 'user', 'enable', '--email', 'bob@example.fr']);
      list = await cliOk(['--db', db, 'user', 'list']);
      assert.doesNotMatch(list.stdout, /bob@example\.fr.*\(disabled\)/);
      const missing = await cli(['--db', db, 'user', 'disable', '--email', 'nobody@example.fr']);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /email/);
    });

    test('FIDELIS_DB is honoured, and --db wins over it', async () => {
      const db = await fresh();
      const scratch = mkdtempSync(join(tmpdir(), 'fidelis-cli-'));
      cleanups.push(async () => rmSync(scratch, { recursive: true, force: true }));
      const env = { FIDELIS_DB: db };
      const m = await cliOk(['migrate'], { env, cwd: scratch });
      assert.match(m.stdout, /up to date/);
      await cliOk(['user', 'add', '--email', 'env@example.fr', '--password', 'long enough password'], { env, cwd: scratch });
      const other = await fresh();
      const viaFlag = await cliOk(['--db', other, 'user', 'list'], { env, cwd: scratch });
      assert.doesNotMatch(viaFlag.stdout, /env@example\.fr/);
      const viaEnv = await cliOk(['user', 'list'], { env, cwd: scratch });
      assert.match(viaEnv.stdout, /env@example\.fr/);
      // The default database (./fidelis.db) was not used.
      assert.equal(existsSync(join(scratch, 'fidelis.db')), false);
      // The server honours it too.
      const key = (await cliOk(['apikey', 'create', '--name', 'env-key', '--role', 'viewer'], { env, cwd: scratch })).stdout.trim().split('\n').at(-1);
      const srv = await spawnServer(other, { env });  // --db other is passed: the flag wins
      try {
        const me = await api({ ...srv, keys: {} }, 'GET', '/api/v1/auth/me', { key });
        assert.equal(me.status, 401, `the key from FIDELIS_DB must not work on the --db database: ${show(me)}`);
      } finally {
        await srv.stop();
      }
    });

    describe('demo data over the API', () => {
      let server;
      before(async () => {
        server = await startServer(driver, {
          setup: async (db) => {
            const r = await cliOk(['--db', db, 'demo', '--customers', '500', '--seed', '7']);
            assert.match(r.stdout, /generated 500 customers/);
          },
        });
      });
      after(async () => {
        await server?.stop();
      });

      test('demo customers look French', async () => {
        const r = await api(server, 'GET', '/api/v1/customers?limit=100', { role: 'viewer' });
        assert.equal(r.status, 200, show(r));
        assert.equal(r.body.items.length, 100);
        assert.ok(r.body.next_cursor);
        let withPhone = 0;
        let withAddress = 0;
        for (const c of r.body.items) {
          assert.ok(c.last_name, `customer ${c.id} has a last name`);
          if (c.address.postcode) {
            ++withAddress;
            assert.match(c.address.postcode, /^\d{5}$/, `customer ${c.id}`);
            assert.equal(c.address.country, 'FR');
            assert.ok(c.address.city);
          }
          for (const p of c.phones) {
            ++withPhone;
            if (p.valid) assert.match(p.e164, /^\+33[1-9]\d{8}$/, `customer ${c.id}`);
          }
          for (const e of c.emails) assert.match(e.email, /^[^@\s]+@[a-z0-9.-]+\.[a-z]{2,}$/);
          if (c.civility) assert.ok(['M.', 'Mme', 'Mx', 'Dr', 'Me'].includes(c.civility), c.civility);
        }
        assert.ok(withAddress >= 50, `${withAddress} of 100 have a postcode`);
        assert.ok(withPhone >= 50, `${withPhone} phones among 100 customers`);
        // Fetched one by one, a demo customer is the same as in the list.
        const one = await api(server, 'GET', `/api/v1/customers/${r.body.items[0].id}`, { role: 'viewer' });
        assert.equal(one.status, 200, show(one));
        assert.deepEqual(one.body, r.body.items[0]);
        // All 500 are there.
        let n = 0;
        let cursor = null;
        do {
          const page = await api(server, 'GET', `/api/v1/customers?limit=500${cursor ? `&cursor=${cursor}` : ''}`, { role: 'viewer' });
          assert.equal(page.status, 200, show(page));
          n += page.body.items.length;
          cursor = page.body.next_cursor;
        } while (cursor);
        assert.equal(n, 500);
        // The demo data is searchable like any other.
        const someone = r.body.items.find((c) => c.last_name && c.address.city);
        const found = await api(server, 'GET', `/api/v1/customers?city=${encodeURIComponent(someone.address.city.toUpperCase())}&limit=500`, { role: 'viewer' });
        assert.equal(found.status, 200, show(found));
        assert.ok(found.body.items.some((c) => c.id === someone.id));
      });
    });
  });
}
