// The route x role matrix: every route the server declares (`fidelis routes`), called with every
// role's API key, must answer 403 exactly when the role lacks the route's permission; without
// credentials every non-public route answers 401.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { drivers, startServer, api, show, routes as readRoutes, ROLES } from './harness.mjs';

// Routes with lasting side effects run last, on throwaway targets.
function destructive(route) {
  return route.method === 'DELETE' || /\/(disable|enable|restore)$/.test(route.path) || route.operation_id === 'logout';
}

function table(rows) {
  const cols = ['method', 'path', 'who', 'expected', 'actual'];
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (r) => cols.map((c, i) => String(r[c]).padEnd(widths[i])).join('  ');
  return [line(Object.fromEntries(cols.map((c) => [c, c.toUpperCase()]))), ...rows.map(line)].join('\n');
}

for (const driver of drivers()) {
  describe(driver, () => {
    let server;
    let routeList;
    const targets = {};  // role -> {id, email, name} for destructive routes
    let sharedId;
    let linkToken;

    before(async () => {
      routeList = await readRoutes();
      server = await startServer(driver);
      const admin = (method, path, body) => api(server, method, path, { role: 'admin', body });
      const c = await admin('POST', '/api/v1/customers', { first_name: 'Matrice', last_name: 'Partagée' });
      assert.equal(c.status, 201, show(c));
      sharedId = c.body.id;
      // The public questionnaire routes take a signed link token: a real one, so that "allowed"
      // means the token was accepted, not refused.
      const q = await admin('POST', '/api/v1/questionnaires', {
        slug: 'matrice', title: 'Matrice',
        sections: [{ key: 's', title: 'S', questions: [{ key: 'ville', label: 'Ville', type: 'text', target: 'city' }] }],
      });
      assert.equal(q.status, 201, show(q));
      const link = await admin('POST', `/api/v1/questionnaires/${q.body.id}/links`, { customer_id: sharedId });
      assert.equal(link.status, 201, show(link));
      linkToken = link.body.token;
      for (const role of [...ROLES, 'anonymous']) {
        const t = await admin('POST', '/api/v1/customers', { last_name: `Jetable ${role}` });
        assert.equal(t.status, 201, show(t));
        // The restore route needs a deleted customer.
        const d = await admin('POST', '/api/v1/customers', { last_name: `Supprimé ${role}` });
        assert.equal(d.status, 201, show(d));
        assert.equal((await admin('DELETE', `/api/v1/customers/${d.body.id}`)).status, 204);
        const email = `throwaway-${role}@example.fr`;
        const u = await admin('POST', '/api/v1/users', { email, name: role, role: 'viewer', password: 'throwaway password' });
        assert.equal(u.status, 201, show(u));
        const name = `throwaway-${role}`;
        const k = await admin('POST', '/api/v1/api-keys', { name, role: 'viewer' });
        assert.equal(k.status, 201, show(k));
        targets[role] = { id: t.body.id, deletedId: d.body.id, email, name };
      }
    });
    after(async () => {
      await server?.stop();
    });

    function pathFor(route, who) {
      const t = targets[who];
      const useThrowaway = destructive(route);
      return route.path
        .replace('{id}', String(useThrowaway ? (route.path.endsWith('/restore') ? t.deletedId : t.id) : sharedId))
        .replace('{email}', encodeURIComponent(useThrowaway ? t.email : server.adminEmail))
        .replace('{name}', encodeURIComponent(useThrowaway ? t.name : 'no-such-key'))
        .replace('{token}', linkToken)
        .replace('{key}', 'order_confirmation')
        .replace('{locale}', 'fr');
    }

    async function callRoute(route, who) {
      const headers = {};
      let body;
      if (route.method === 'POST' || route.method === 'PATCH' || route.method === 'PUT') body = {};
      if (route.method === 'PATCH') headers['If-Match'] = '"v1"';
      return api(server, route.method, pathFor(route, who), { role: who === 'anonymous' ? undefined : who, body, headers });
    }

    test('the route list is sane', () => {
      assert.ok(routeList.length >= 20, `only ${routeList.length} routes`);
      for (const r of routeList) {
        assert.match(r.method, /^(GET|POST|PATCH|PUT|DELETE)$/);
        assert.match(r.path, /^\//);
        assert.ok(r.operation_id, `${r.method} ${r.path} has no operation_id`);
        assert.ok(Array.isArray(r.roles));
        if (r.public) assert.equal(r.permission, null);
        for (const role of r.roles) assert.ok(ROLES.includes(role), role);
      }
      const ids = routeList.map((r) => r.operation_id);
      assert.equal(new Set(ids).size, ids.length, 'operation ids are unique');
      // Spot checks of the intended permissions.
      const find = (m, p) => routeList.find((r) => r.method === m && r.path === p);
      assert.deepEqual(find('GET', '/api/v1/customers').roles, ROLES);
      assert.deepEqual(find('POST', '/api/v1/customers').roles, ['admin', 'marketer', 'agent', 'sales']);
      assert.deepEqual(find('DELETE', '/api/v1/customers/{id}').roles, ['admin', 'marketer']);
      assert.deepEqual(find('POST', '/api/v1/users').roles, ['admin']);
      assert.deepEqual(find('GET', '/api/v1/orders').roles, ROLES);
      assert.deepEqual(find('POST', '/api/v1/orders').roles, ['admin', 'agent', 'sales']);
      assert.deepEqual(find('POST', '/api/v1/orders/{id}/transitions').roles, ['admin', 'agent', 'sales']);
      assert.deepEqual(find('POST', '/api/v1/delivery/zones').roles, ['admin', 'agent']);
      assert.equal(find('GET', '/api/v1/track').public, true);
      assert.equal(find('GET', '/api/v1/track/{token}').public, true);
      assert.equal(find('GET', '/healthz').public, true);
      assert.equal(find('GET', '/api/v1/auth/me').public, false);
      for (const p of ['/t.js', '/t.gif']) assert.equal(find('GET', p).public, true, p);
      assert.equal(find('POST', '/t/collect').public, true);
      assert.deepEqual(find('POST', '/api/v1/tracking/events').roles, ['admin', 'marketer']);
      assert.deepEqual(find('POST', '/v1/batch').roles, ['admin', 'marketer']);
      assert.deepEqual(find('POST', '/api/v1/interactions').roles, ['admin', 'marketer', 'agent', 'sales']);
      assert.deepEqual(find('GET', '/api/v1/customers/{id}/timeline').roles, ROLES);
    });

    test('every route x every role: 403 exactly when the role lacks the permission', async () => {
      const ordered = [...routeList.filter((r) => !destructive(r)), ...routeList.filter(destructive)];
      const rows = [];
      for (const route of ordered) {
        for (const role of ROLES) {
          const allowed = route.public || route.roles.includes(role);
          const r = await callRoute(route, role);
          const good = allowed ? r.status !== 401 && r.status !== 403 && r.status < 500 : r.status === 403;
          rows.push({ method: route.method, path: route.path, who: role, expected: allowed ? 'allowed' : '403', actual: r.status, good,
            detail: good ? '' : show(r) });
          if (!good) continue;
          if (!allowed) {
            assert.equal(r.body.code, 'permission_denied', show(r));
            assert.equal(r.body.status, 403);
          }
        }
      }
      const bad = rows.filter((r) => !r.good);
      assert.equal(bad.length, 0,
        `${bad.length} of ${rows.length} calls answered wrongly:\n${table(bad)}\n\n${bad.map((b) => `${b.method} ${b.path} as ${b.who}: ${b.detail}`).join('\n')}`);
    });

    test('without credentials: 401 on every non-public route, never on public ones', async () => {
      const ordered = [...routeList.filter((r) => !destructive(r)), ...routeList.filter(destructive)];
      const rows = [];
      for (const route of ordered) {
        const r = await callRoute(route, 'anonymous');
        const good = route.public ? r.status !== 401 && r.status !== 403 && r.status < 500 : r.status === 401;
        const wwwAuth = r.headers.get('www-authenticate');
        const goodHeader = route.public || /^Bearer/.test(wwwAuth || '');
        rows.push({ method: route.method, path: route.path, who: 'anonymous', expected: route.public ? 'allowed' : '401',
          actual: `${r.status}${goodHeader ? '' : ' (no WWW-Authenticate)'}`, good: good && goodHeader });
      }
      const bad = rows.filter((r) => !r.good);
      assert.equal(bad.length, 0, `${bad.length} of ${rows.length} anonymous calls answered wrongly:\n${table(bad)}`);
    });

    test('the destructive calls did what they say (sanity of the matrix itself)', async () => {
      // The admin's throwaway key was revoked, the admin's throwaway user disabled then enabled.
      const keys = await api(server, 'GET', '/api/v1/api-keys', { role: 'admin' });
      assert.equal(keys.status, 200, show(keys));
      const byName = Object.fromEntries(keys.body.items.map((k) => [k.name, k]));
      assert.ok(byName['throwaway-admin'].revoked_at, 'admin revoked its throwaway key');
      for (const role of ROLES.filter((r) => r !== 'admin')) {
        assert.equal(byName[`throwaway-${role}`].revoked_at, null, `${role} could not revoke`);
        assert.equal(byName[`test-${role}`].revoked_at, null, `the ${role} test key is intact`);
      }
      // Deleted by admin and marketer only.
      for (const role of ROLES) {
        const r = await api(server, 'GET', `/api/v1/customers/${targets[role].id}`, { role: 'admin' });
        assert.equal(r.status, ['admin', 'marketer'].includes(role) ? 404 : 200, `${role}: ${show(r)}`);
      }
      // Restored by admin only.
      for (const role of ROLES) {
        const r = await api(server, 'GET', `/api/v1/customers/${targets[role].deletedId}`, { role: 'admin' });
        assert.equal(r.status, role === 'admin' ? 200 : 404, `${role}: ${show(r)}`);
      }
      // The API keys still work (logout with a key is harmless).
      for (const role of ROLES) assert.equal((await api(server, 'GET', '/api/v1/auth/me', { role })).status, 200);
    });
  });
}
