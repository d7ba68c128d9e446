// docs/api/openapi.yaml and the server agree: the same operations (method, path, operationId) in
// both directions, and GET /api/v1/openapi.json serves the YAML document as JSON.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { drivers, startServer, api, show, routes as readRoutes, ROOT } from './harness.mjs';

const SPEC_PATH = join(ROOT, 'docs', 'api', 'openapi.yaml');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function specOperations(spec) {
  const ops = [];
  for (const [path, item] of Object.entries(spec?.paths ?? {})) {
    for (const method of METHODS) {
      if (item && typeof item === 'object' && item[method]) ops.push({ method, path, operationId: item[method].operationId });
    }
  }
  return ops;
}

// JSON paths where `served` and `expected` differ.
function differences(served, expected, path = '$', out = []) {
  if (out.length > 100) return out;
  const kind = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (kind(served) !== kind(expected)) {
    out.push(`${path}: served ${JSON.stringify(served)?.slice(0, 80)}, spec ${JSON.stringify(expected)?.slice(0, 80)}`);
  } else if (kind(served) === 'object' || kind(served) === 'array') {
    for (const k of new Set([...Object.keys(served), ...Object.keys(expected)])) {
      const p = Array.isArray(served) ? `${path}[${k}]` : `${path}.${k}`;
      if (!(k in served)) out.push(`${p}: missing from the served document`);
      else if (!(k in expected)) out.push(`${p}: served but not in the spec`);
      else differences(served[k], expected[k], p, out);
    }
  } else if (served !== expected) {
    out.push(`${path}: served ${JSON.stringify(served).slice(0, 80)}, spec ${JSON.stringify(expected).slice(0, 80)}`);
  }
  return out;
}

for (const driver of drivers()) {
  describe(driver, () => {
    let server;
    let spec;
    let routeList;
    before(async () => {
      spec = parse(readFileSync(SPEC_PATH, 'utf8'));
      routeList = await readRoutes();
      server = await startServer(driver);
    });
    after(async () => {
      await server?.stop();
    });

    test('the spec is an OpenAPI 3 document with paths', () => {
      assert.equal(typeof spec, 'object');
      assert.match(String(spec.openapi), /^3\./);
      assert.equal(typeof spec.info?.title, 'string', 'info.title');
      assert.equal(typeof spec.info?.version, 'string', 'info.version');
      assert.equal(typeof spec.paths, 'object', 'the spec has no paths');
    });

    test('every server route is in the spec with the same operationId', () => {
      const ops = specOperations(spec);
      const problems = [];
      for (const r of routeList) {
        const op = ops.find((o) => o.path === r.path && o.method === r.method.toLowerCase());
        if (!op) problems.push(`${r.method} ${r.path} (${r.operation_id}) is missing from the spec`);
        else if (op.operationId !== r.operation_id)
          problems.push(`${r.method} ${r.path}: operationId is ${op.operationId} in the spec, ${r.operation_id} in the server`);
      }
      assert.deepEqual(problems, [], `${problems.length} of ${routeList.length} routes:\n${problems.join('\n')}`);
    });

    test('every spec operation is a server route', () => {
      const problems = [];
      for (const op of specOperations(spec)) {
        if (!routeList.some((r) => r.path === op.path && r.method.toLowerCase() === op.method))
          problems.push(`${op.method.toUpperCase()} ${op.path} (${op.operationId}) is in the spec but not served`);
      }
      assert.deepEqual(problems, [], problems.join('\n'));
      const ids = specOperations(spec).map((o) => o.operationId);
      assert.equal(new Set(ids).size, ids.length, 'operationIds are unique in the spec');
    });

    test('GET /api/v1/openapi.json serves the YAML document', async () => {
      const r = await api(server, 'GET', '/api/v1/openapi.json');
      assert.equal(r.status, 200, show(r));
      assert.match(r.headers.get('content-type') || '', /^application\/json/);
      assert.equal(typeof r.body, 'object', 'the body is JSON');
      // The server embeds the YAML at build time: a spec edited since the last build differs here.
      const diffs = differences(r.body, spec);
      assert.deepEqual(diffs, [],
        `the served document differs from docs/api/openapi.yaml (edited since the binary was built?) at:\n${diffs.slice(0, 30).join('\n')}` +
          (diffs.length > 30 ? `\n... and ${diffs.length - 30} more` : ''));
      assert.deepEqual(r.body, spec);
    });
  });
}
