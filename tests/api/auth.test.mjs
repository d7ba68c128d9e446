// Authentication as clients see it: browser sessions with CSRF, login throttling, API keys with
// scopes, users managed over the API.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { drivers, startServer, api, show, cliOk } from './harness.mjs';

const ME = '/api/v1/auth/me';
const LOGIN = '/api/v1/auth/login';
const LOGOUT = '/api/v1/auth/logout';
const C = '/api/v1/customers';

function sessionCookie(res) {
  const set = res.headers.getSetCookie();
  const c = set.find((s) => s.startsWith('fidelis_session='));
  assert.ok(c, `no fidelis_session cookie in ${JSON.stringify(set)}`);
  return c;
}

async function login(server, email, password) {
  const r = await api(server, 'POST', LOGIN, { body: { email, password } });
  assert.equal(r.status, 200, show(r));
  const setCookie = sessionCookie(r);
  return { cookie: setCookie.split(';')[0], csrf: r.body.csrf_token, res: r };
}

for (const driver of drivers()) {
  describe(driver, () => {
    let server;
    before(async () => {
      // The per-address failure counter is never reset by a success: keep it out of the way here.
      server = await startServer(driver, { env: { FIDELIS_AUTH_LOGIN_MAX_FAILURES: '100' } });
    });
    after(async () => {
      await server?.stop();
    });

    test('login, cookie session, CSRF on writes, logout', async () => {
      const wrong = await api(server, 'POST', LOGIN, { body: { email: server.adminEmail, password: 'wrong password!' } });
      assert.equal(wrong.status, 401, show(wrong));
      assert.equal(wrong.headers.getSetCookie().length, 0);
      const unknown = await api(server, 'POST', LOGIN, { body: { email: 'nobody@fidelis.test', password: 'whatever-123' } });
      assert.equal(unknown.status, 401, show(unknown));
      assert.equal(unknown.body.detail, wrong.body.detail, 'the answer does not reveal whether the account exists');
      const missing = await api(server, 'POST', LOGIN, { body: { email: server.adminEmail } });
      assert.equal(missing.status, 400, show(missing));
      assert.equal(missing.body.field, 'password');
      const extra = await api(server, 'POST', LOGIN, { body: { email: server.adminEmail, password: 'x', remember: true } });
      assert.equal(extra.status, 400, show(extra));
      assert.equal(extra.body.field, 'remember');

      const r = await api(server, 'POST', LOGIN, { body: { email: server.adminEmail.toUpperCase(), password: server.adminPassword } });
      assert.equal(r.status, 200, show(r));
      const set = sessionCookie(r);
      assert.match(set, /^fidelis_session=[^;]{20,};/);
      assert.match(set, /;\s*HttpOnly/i);
      assert.match(set, /;\s*SameSite=Strict/i);
      assert.match(set, /;\s*Path=\//);
      assert.match(r.headers.get('cache-control') || '', /no-store/);
      assert.equal(typeof r.body.csrf_token, 'string');
      assert.ok(r.body.csrf_token.length >= 20);
      assert.equal(r.body.user.email, server.adminEmail);
      assert.equal(r.body.user.role, 'admin');
      assert.ok(Date.parse(r.body.expires_at) > Date.now());
      assert.equal(JSON.stringify(r.body).includes(set.split(';')[0].split('=')[1]), false, 'the session token is only in the cookie');
      const cookie = set.split(';')[0];
      const csrf = r.body.csrf_token;

      const me = await api(server, 'GET', ME, { cookie });
      assert.equal(me.status, 200, show(me));
      assert.equal(me.body.kind, 'user');
      assert.equal(me.body.name, server.adminEmail);
      assert.equal(me.body.role, 'admin');
      assert.equal(me.body.csrf_token, csrf);
      assert.ok(me.body.permissions.includes('users:manage'));
      // Reads need no CSRF token.
      assert.equal((await api(server, 'GET', C, { cookie })).status, 200);

      const noCsrf = await api(server, 'POST', C, { cookie, body: { last_name: 'Cookie' } });
      assert.equal(noCsrf.status, 403, show(noCsrf));
      assert.equal(noCsrf.body.field, 'X-CSRF-Token');
      const badCsrf = await api(server, 'POST', C, { cookie, body: { last_name: 'Cookie' }, headers: { 'X-CSRF-Token': csrf.slice(0, -2) + 'zz' } });
      assert.equal(badCsrf.status, 403, show(badCsrf));
      assert.equal(badCsrf.body.field, 'X-CSRF-Token');
      const okCsrf = await api(server, 'POST', C, { cookie, body: { last_name: 'Cookie' }, headers: { 'X-CSRF-Token': csrf } });
      assert.equal(okCsrf.status, 201, show(okCsrf));
      // The audit log names the user.
      const audit = await api(server, 'GET', `/api/v1/audit?entity=customer&entity_id=${okCsrf.body.id}`, { cookie });
      assert.equal(audit.status, 200, show(audit));
      assert.equal(audit.body.items[0].actor.type, 'user');
      assert.equal(audit.body.items[0].actor.name, server.adminEmail);

      // Logout is a write: it needs the CSRF token too.
      const logoutNoCsrf = await api(server, 'POST', LOGOUT, { cookie });
      assert.equal(logoutNoCsrf.status, 403, show(logoutNoCsrf));
      const out = await api(server, 'POST', LOGOUT, { cookie, headers: { 'X-CSRF-Token': csrf } });
      assert.equal(out.status, 204, show(out));
      const cleared = out.headers.getSetCookie().find((s) => s.startsWith('fidelis_session='));
      assert.ok(cleared, 'logout clears the cookie');
      assert.match(cleared, /Max-Age=0/);
      const after = await api(server, 'GET', ME, { cookie });
      assert.equal(after.status, 401, show(after));
      assert.equal((await api(server, 'GET', C, { cookie })).status, 401);
    });

    test('no or bad credentials: 401 with WWW-Authenticate', async () => {
      for (const opts of [{}, { key: 'fid_nothere_' + 'x'.repeat(43) }, { headers: { Authorization: 'Basic YWRtaW46YWRtaW4=' } },
        { headers: { Authorization: 'Bearer ' } }, { cookie: 'fidelis_session=forged' }, { cookie: 'other=1' }]) {
        for (const [method, path] of [['GET', C], ['GET', ME], ['POST', C]]) {
          const r = await api(server, method, path, { ...opts, body: method === 'POST' ? {} : undefined });
          assert.equal(r.status, 401, `${method} ${path} ${JSON.stringify(opts)}: ${show(r)}`);
          assert.match(r.headers.get('www-authenticate') || '', /^Bearer/);
          assert.equal(r.body.status, 401);
          assert.equal(r.body.code, 'unauthenticated');
        }
      }
    });

    test('API keys: created once, listed without secret, scoped, revoked', async () => {
      const r = await api(server, 'POST', '/api/v1/api-keys', {
        role: 'admin',
        body: { name: 'crm-sync', role: 'sales', scopes: ['customers:read'] },
      });
      assert.equal(r.status, 201, show(r));
      const secret = r.body.key;
      // base64url may itself contain '_': the capture, not a split, isolates the secret part.
      const secretPart = secret.match(/^fid_[A-Za-z0-9]{8}_([A-Za-z0-9_-]{43})$/)?.[1];
      assert.ok(secretPart, `key shape: ${secret}`);
      assert.equal(r.body.name, 'crm-sync');
      assert.equal(r.body.role, 'sales');
      assert.deepEqual(r.body.scopes, ['customers:read']);
      assert.equal(r.body.revoked_at, null);
      assert.ok(secret.startsWith(`fid_${r.body.prefix}_`));
      assert.match(r.headers.get('cache-control') || '', /no-store/);

      const list = await api(server, 'GET', '/api/v1/api-keys', { role: 'admin' });
      assert.equal(list.status, 200, show(list));
      const listed = list.body.items.find((k) => k.name === 'crm-sync');
      assert.ok(listed, 'the new key is listed');
      assert.equal(listed.key, undefined);
      assert.equal(listed.prefix, r.body.prefix);
      assert.equal(list.text.includes(secretPart), false, 'the list never shows a secret');
      for (const role of ['admin', 'marketer', 'agent', 'sales', 'viewer'])
        assert.ok(list.body.items.some((k) => k.name === `test-${role}` && k.role === role));

      const dup = await api(server, 'POST', '/api/v1/api-keys', { role: 'admin', body: { name: 'crm-sync', role: 'viewer' } });
      assert.equal(dup.status, 409, show(dup));
      assert.equal(dup.body.field, 'name');
      const tooMuch = await api(server, 'POST', '/api/v1/api-keys', { role: 'admin', body: { name: 'k2', role: 'viewer', scopes: ['customers:write'] } });
      assert.equal(tooMuch.status, 400, show(tooMuch));
      assert.equal(tooMuch.body.field, 'scopes');
      const unknownScope = await api(server, 'POST', '/api/v1/api-keys', { role: 'admin', body: { name: 'k3', role: 'viewer', scopes: ['everything'] } });
      assert.equal(unknownScope.status, 400, show(unknownScope));
      assert.equal(unknownScope.body.field, 'scopes[0]');
      for (const name of ['', 'has space', 'slash/name', 'é', 'x'.repeat(101)]) {
        const badName = await api(server, 'POST', '/api/v1/api-keys', { role: 'admin', body: { name, role: 'viewer' } });
        assert.equal(badName.status, 400, `${JSON.stringify(name)}: ${show(badName)}`);
        assert.equal(badName.body.field, 'name');
      }
      const badRole = await api(server, 'POST', '/api/v1/api-keys', { role: 'admin', body: { name: 'k4', role: 'root' } });
      assert.equal(badRole.status, 400, show(badRole));
      assert.equal(badRole.body.field, 'role');

      // The scoped key reads but does not write, although its role could.
      const me = await api(server, 'GET', ME, { key: secret });
      assert.equal(me.status, 200, show(me));
      assert.equal(me.body.kind, 'api_key');
      assert.equal(me.body.name, 'crm-sync');
      assert.deepEqual(me.body.permissions, ['customers:read']);
      assert.equal(me.body.csrf_token, undefined);
      assert.equal((await api(server, 'GET', C, { key: secret })).status, 200);
      const write = await api(server, 'POST', C, { key: secret, body: { last_name: 'Scoped' } });
      assert.equal(write.status, 403, show(write));
      // An unscoped sales key writes.
      assert.equal((await api(server, 'POST', C, { role: 'sales', body: { last_name: 'Sales' } })).status, 201);

      // Revoked: the key stops working at once.
      const rev = await api(server, 'DELETE', '/api/v1/api-keys/crm-sync', { role: 'admin' });
      assert.equal(rev.status, 204, show(rev));
      const gone = await api(server, 'GET', C, { key: secret });
      assert.equal(gone.status, 401, show(gone));
      assert.match(gone.headers.get('www-authenticate') || '', /^Bearer/);
      const again = await api(server, 'DELETE', '/api/v1/api-keys/crm-sync', { role: 'admin' });
      assert.equal(again.status, 404, show(again));
      const list2 = await api(server, 'GET', '/api/v1/api-keys', { role: 'admin' });
      assert.ok(list2.body.items.find((k) => k.name === 'crm-sync').revoked_at);
    });

    test('a key revoked from the command line stops working within seconds', async () => {
      const made = await api(server, 'POST', '/api/v1/api-keys', { role: 'admin', body: { name: 'cli-revoked', role: 'viewer' } });
      assert.equal(made.status, 201, show(made));
      const key = made.body.key;
      assert.equal((await api(server, 'GET', ME, { key })).status, 200);
      await cliOk(['--db', server.db, 'apikey', 'revoke', '--name', 'cli-revoked']);
      // Another process revoked it: the server's key cache may trust it a little longer (5 s).
      const start = Date.now();
      let status = 200;
      while (status === 200 && Date.now() - start < 8000) {
        status = (await api(server, 'GET', ME, { key })).status;
        if (status === 200) await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(status, 401, `still accepted ${Date.now() - start} ms after revocation`);
    });

    test('users: created over the API, log in, disabled and enabled', async () => {
      const pw = 'a long enough password';
      const r = await api(server, 'POST', '/api/v1/users', {
        role: 'admin',
        body: { email: 'Claire.Agent@Example.FR', name: 'Claire', role: 'agent', password: pw },
      });
      assert.equal(r.status, 201, show(r));
      assert.equal(r.body.email, 'claire.agent@example.fr');
      assert.equal(r.body.role, 'agent');
      assert.equal(r.body.disabled, false);
      assert.equal(r.body.password, undefined);
      assert.equal(JSON.stringify(r.body).includes(pw), false);

      const dup = await api(server, 'POST', '/api/v1/users', { role: 'admin', body: { email: 'claire.agent@example.fr', role: 'agent', password: pw } });
      assert.equal(dup.status, 409, show(dup));
      assert.equal(dup.body.field, 'email');
      const short = await api(server, 'POST', '/api/v1/users', { role: 'admin', body: { email: 'short@example.fr', role: 'agent', password: 'short' } });
      assert.equal(short.status, 400, show(short));
      assert.equal(short.body.field, 'password');
      const badRole = await api(server, 'POST', '/api/v1/users', { role: 'admin', body: { email: 'r@example.fr', role: 'boss', password: pw } });
      assert.equal(badRole.status, 400, show(badRole));
      assert.equal(badRole.body.field, 'role');
      const badEmail = await api(server, 'POST', '/api/v1/users', { role: 'admin', body: { email: 'nope', role: 'agent', password: pw } });
      assert.equal(badEmail.status, 400, show(badEmail));
      assert.equal(badEmail.body.field, 'email');
      const notAdmin = await api(server, 'POST', '/api/v1/users', { role: 'marketer', body: { email: 'm@example.fr', role: 'admin', password: pw } });
      assert.equal(notAdmin.status, 403, show(notAdmin));

      const users = await api(server, 'GET', '/api/v1/users', { role: 'admin' });
      assert.equal(users.status, 200, show(users));
      assert.ok(users.body.items.some((u) => u.email === 'claire.agent@example.fr' && u.role === 'agent'));
      assert.ok(users.body.items.some((u) => u.email === server.adminEmail && u.role === 'admin'));
      assert.equal(users.text.includes('password'), false);

      const s = await login(server, 'claire.agent@example.fr', pw);
      const me = await api(server, 'GET', ME, { cookie: s.cookie });
      assert.equal(me.status, 200, show(me));
      assert.equal(me.body.role, 'agent');
      assert.deepEqual(me.body.permissions, ['customers:read', 'customers:write', 'catalogue:read', 'customers:merge', 'mail:read', 'orders:read', 'orders:manage', 'delivery:manage', 'interactions:write']);
      const made = await api(server, 'POST', C, { cookie: s.cookie, headers: { 'X-CSRF-Token': s.csrf }, body: { last_name: 'ByAgent' } });
      assert.equal(made.status, 201, show(made));
      const del = await api(server, 'DELETE', `${C}/${made.body.id}`, { cookie: s.cookie, headers: { 'X-CSRF-Token': s.csrf } });
      assert.equal(del.status, 403, show(del));
      const adminOnly = await api(server, 'GET', '/api/v1/users', { cookie: s.cookie });
      assert.equal(adminOnly.status, 403, show(adminOnly));

      // Disabled: the session ends and login fails.
      const dis = await api(server, 'POST', '/api/v1/users/claire.agent@example.fr/disable', { role: 'admin' });
      assert.equal(dis.status, 204, show(dis));
      assert.equal((await api(server, 'GET', ME, { cookie: s.cookie })).status, 401);
      const refused = await api(server, 'POST', LOGIN, { body: { email: 'claire.agent@example.fr', password: pw } });
      assert.equal(refused.status, 401, show(refused));
      const listed = (await api(server, 'GET', '/api/v1/users', { role: 'admin' })).body.items.find((u) => u.email === 'claire.agent@example.fr');
      assert.equal(listed.disabled, true);

      const en = await api(server, 'POST', `/api/v1/users/${encodeURIComponent('claire.agent@example.fr')}/enable`, { role: 'admin' });
      assert.equal(en.status, 204, show(en));
      const s2 = await login(server, 'claire.agent@example.fr', pw);
      assert.equal((await api(server, 'GET', ME, { cookie: s2.cookie })).status, 200);
      // The old session stays dead.
      assert.equal((await api(server, 'GET', ME, { cookie: s.cookie })).status, 401);

      const unknown = await api(server, 'POST', '/api/v1/users/nobody@example.fr/disable', { role: 'admin' });
      assert.equal(unknown.status, 404, show(unknown));
    });

    test('a viewer reads but does not write', async () => {
      const pw = 'viewer password 123';
      const r = await api(server, 'POST', '/api/v1/users', { role: 'admin', body: { email: 'victor@example.fr', name: 'Victor', role: 'viewer', password: pw } });
      assert.equal(r.status, 201, show(r));
      const s = await login(server, 'victor@example.fr', pw);
      const list = await api(server, 'GET', C, { cookie: s.cookie });
      assert.equal(list.status, 200, show(list));
      const write = await api(server, 'POST', C, { cookie: s.cookie, headers: { 'X-CSRF-Token': s.csrf }, body: { last_name: 'Nope' } });
      assert.equal(write.status, 403, show(write));
      assert.equal(write.body.code, 'permission_denied');
      const keyWrite = await api(server, 'POST', C, { role: 'viewer', body: { last_name: 'Nope' } });
      assert.equal(keyWrite.status, 403, show(keyWrite));
      assert.equal((await api(server, 'GET', C, { role: 'viewer' })).status, 200);
    });

    test('logout ends the session even when another cookie name ends in fidelis_session', async () => {
      const s = await login(server, server.adminEmail, server.adminPassword);
      const cookie = `app_fidelis_session=unrelated; ${s.cookie}`;
      assert.equal((await api(server, 'GET', ME, { cookie })).status, 200);
      const out = await api(server, 'POST', LOGOUT, { cookie, headers: { 'X-CSRF-Token': s.csrf } });
      assert.equal(out.status, 204, show(out));
      const after = await api(server, 'GET', ME, { cookie: s.cookie });
      assert.equal(after.status, 401, `the session authenticated by the request is still valid after logout: ${show(after)}`);
    });

    test('the Bearer scheme name is case-insensitive (RFC 9110 11.1)', async () => {
      for (const scheme of ['Bearer', 'bearer', 'BEARER', 'BeArEr']) {
        const r = await api(server, 'GET', ME, { headers: { Authorization: `${scheme} ${server.keys.viewer}` } });
        assert.equal(r.status, 200, `${scheme}: ${show(r)}`);
      }
    });

    describe('login throttling', () => {
      let throttled;
      before(async () => {
        throttled = await startServer(driver, { env: { FIDELIS_AUTH_LOGIN_MAX_FAILURES: '3' } });
      });
      after(async () => {
        await throttled?.stop();
      });

      test('after 3 failures even the right password gets 429 with Retry-After', async () => {
        for (let i = 0; i < 3; ++i) {
          const r = await api(throttled, 'POST', LOGIN, { body: { email: throttled.adminEmail, password: `wrong password ${i}` } });
          assert.equal(r.status, 401, `attempt ${i + 1}: ${show(r)}`);
        }
        const blocked = await api(throttled, 'POST', LOGIN, { body: { email: throttled.adminEmail, password: throttled.adminPassword } });
        assert.equal(blocked.status, 429, show(blocked));
        assert.ok(Number(blocked.headers.get('retry-after')) > 0, `Retry-After: ${blocked.headers.get('retry-after')}`);
        assert.equal(blocked.body.status, 429);
        assert.equal(blocked.headers.getSetCookie().length, 0);
        // API keys are not affected.
        assert.equal((await api(throttled, 'GET', ME, { role: 'admin' })).status, 200);
      });
    });
  });
}
