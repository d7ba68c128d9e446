// Test harness for the black-box API tests: starts a real `fidelis serve` on a fresh database
// (SQLite or PostgreSQL), with an admin user and one API key per role, and talks HTTP to it.
//
// Environment:
//   FIDELIS_BIN          the fidelis binary (default: build/fidelis at the repository root)
//   FIDELIS_TEST_PG      postgresql://user@host:port/db of a server where test databases may be
//                        created and dropped; required unless FIDELIS_TEST_SKIP_PG=1
//   FIDELIS_TEST_SKIP_PG set to 1 to run on SQLite only
//   FIDELIS_TEST_PSQL    the psql binary (default: the newest /usr/lib/postgresql/*/bin/psql, else psql)

import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, accessSync, constants as fsConstants } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.FIDELIS_BIN || join(ROOT, 'build', 'fidelis');
export const ROLES = ['admin', 'marketer', 'agent', 'sales', 'viewer'];
export const ADMIN_EMAIL = 'admin@fidelis.test';
export const ADMIN_PASSWORD = 'correct horse battery staple';

const STDERR_KEEP = 64 * 1024;  // bytes of server stderr kept for failure messages

export function drivers() {
  if (process.env.FIDELIS_TEST_PG) return ['sqlite', 'postgres'];
  if (process.env.FIDELIS_TEST_SKIP_PG === '1') return ['sqlite'];
  throw new Error(
    'FIDELIS_TEST_PG is not set: set it to a PostgreSQL URL where test databases may be created ' +
      '(e.g. the one printed by `scripts/start-postgres DIR PORT`), or set FIDELIS_TEST_SKIP_PG=1 to test SQLite only');
}

export function randomName(prefix = '') {
  return prefix + randomBytes(6).toString('hex');
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The binary may be rebuilt (and briefly missing) while the tests run: wait for it.
export async function waitForBinary(timeoutMs = 120_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      accessSync(BIN, fsConstants.X_OK);
      return;
    } catch {
      if (Date.now() > end) throw new Error(`the fidelis binary ${BIN} is missing or not executable`);
      await sleep(250);
    }
  }
}

// Runs the binary once. Resolves {code, signal, stdout, stderr}; never rejects on a non-zero exit.
// `cwd` defaults to a scratch directory, so a command never leaves a ./fidelis.db in the repository.
async function runOnce(args, { env = {}, timeoutMs = 60_000, cwd = tmpdir() } = {}) {
  await waitForBinary();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(BIN, args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

// What spawning the binary fails with while it is being rebuilt.
const REBUILD_ERRORS = new Set(['ENOENT', 'ETXTBSY', 'EACCES', 'ENOEXEC']);

// Runs `fidelis ARGS`, retrying when the binary is being replaced under us.
export async function cli(args, opts = {}) {
  for (let attempt = 0; ; ++attempt) {
    try {
      return await runOnce(args, opts);
    } catch (e) {
      if (attempt < 20 && REBUILD_ERRORS.has(e.code)) {
        await sleep(500);
        continue;
      }
      throw e;
    }
  }
}

// Like cli() but throws (with the output) unless the exit status is 0.
export async function cliOk(args, opts = {}) {
  const r = await cli(args, opts);
  if (r.code !== 0)
    throw new Error(`fidelis ${args.join(' ')} exited ${r.code ?? r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

export async function routes() {
  const r = await cliOk(['routes']);
  return JSON.parse(r.stdout);
}

// ---- PostgreSQL ----

function psqlBin() {
  if (process.env.FIDELIS_TEST_PSQL) return process.env.FIDELIS_TEST_PSQL;
  try {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => existsSync(join('/usr/lib/postgresql', v, 'bin', 'psql')))
      .sort((a, b) => Number(a) - Number(b));
    if (versions.length) return join('/usr/lib/postgresql', versions.at(-1), 'bin', 'psql');
  } catch {
    // fall through to PATH
  }
  return 'psql';
}

async function psql(sql) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(psqlBin(), [process.env.FIDELIS_TEST_PG, '-v', 'ON_ERROR_STOP=1', '-qtAc', sql], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`psql failed (${code}): ${sql}\n${out}`))));
  });
}

function pgUrlFor(dbName) {
  const u = new URL(process.env.FIDELIS_TEST_PG);
  u.pathname = '/' + dbName;
  return u.toString();
}

// A fresh, empty database. Returns {db, drop()}.
export async function freshDatabase(driver) {
  if (driver === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'fidelis-apitest-'));
    return { db: `sqlite:${join(dir, 'fidelis.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  if (driver === 'postgres') {
    if (!process.env.FIDELIS_TEST_PG) throw new Error('FIDELIS_TEST_PG is not set');
    const name = randomName('t_');
    await psql(`CREATE DATABASE ${name}`);
    return { db: pgUrlFor(name), drop: async () => void (await psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)) };
  }
  throw new Error(`unknown driver ${driver}`);
}

// ---- the server ----

// Spawns `fidelis serve` on `db` and resolves once it listens. Returns {url, proc, stderr(), stop()}.
export async function spawnServer(db, opts = {}) {
  for (let attempt = 0; ; ++attempt) {
    try {
      return await spawnServerOnce(db, opts);
    } catch (e) {
      if (attempt < 20 && REBUILD_ERRORS.has(e.code)) {
        await sleep(500);
        continue;
      }
      throw e;
    }
  }
}

async function spawnServerOnce(db, { env = {}, timeoutMs = 30_000 } = {}) {
  await waitForBinary();
  // A working directory of its own, removed once the server has exited: what the server writes
  // relative to it (the default data_dir, ./fidelis-data) is neither shared with other servers
  // nor left behind in the system's temporary directory.
  const scratch = mkdtempSync(join(tmpdir(), 'fidelis-serve-'));
  const removeScratch = () => rmSync(scratch, { recursive: true, force: true });
  let proc;
  try {
    proc = spawn(BIN, ['--db', db, 'serve', '--listen', '127.0.0.1:0'], {
      env: { ...process.env, ...env },
      cwd: scratch,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    removeScratch();
    throw e;
  }
  let stderr = '';
  let stdout = '';
  proc.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d;
    if (stderr.length > 2 * STDERR_KEEP) stderr = stderr.slice(-STDERR_KEEP);
  });
  // Registered first, so the directory is gone before anything awaiting `exited` resumes.
  const exited = new Promise((r) => proc.once('exit', (code, signal) => {
    try {
      removeScratch();
    } finally {
      r({ code, signal });
    }
  }));
  const url = await new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`fidelis serve did not print "listening on" within ${timeoutMs} ms\nstderr: ${stderr.slice(-4000)}`));
    }, timeoutMs);
    proc.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolvePromise(m[1]);
      }
    });
    proc.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`fidelis serve exited (${code ?? signal}) before listening\nstderr: ${stderr.slice(-4000)}`));
    });
  }).catch(async (e) => {
    // Not listening: make sure the process is gone, then its working directory.
    if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
    removeScratch();
    throw e;
  });
  let stopped = null;
  return {
    url,
    proc,
    exited,
    stderr: () => stderr,
    // SIGTERM, then waits for the exit (SIGKILL after `graceMs`). Resolves {code, signal}.
    stop(graceMs = 15_000) {
      if (!stopped) {
        stopped = (async () => {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
          const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
          const r = await exited;
          clearTimeout(timer);
          return r;
        })();
      }
      return stopped;
    },
  };
}

// Makes a fresh database, migrates it, adds the admin user and one API key per role, then serves it.
// Returns {driver, url, db, keys, adminEmail, adminPassword, proc, exited, stderr(), stop()}.
// `setup(db)` (optional) runs more CLI commands on the database before the server starts.
export async function startServer(driver, { env = {}, setup } = {}) {
  const fresh = await freshDatabase(driver);
  const { db } = fresh;
  try {
    await cliOk(['--db', db, 'migrate']);
    await cliOk(['--db', db, 'user', 'add', '--email', ADMIN_EMAIL, '--name', 'Ada Admin', '--role', 'admin',
      '--password', ADMIN_PASSWORD]);
    const keys = {};
    for (const role of ROLES) {
      const r = await cliOk(['--db', db, 'apikey', 'create', '--name', `test-${role}`, '--role', role]);
      keys[role] = r.stdout.trim().split('\n').at(-1).trim();
    }
    if (setup) await setup(db);
    const srv = await spawnServer(db, { env });
    return {
      driver,
      url: srv.url,
      db,
      keys,
      adminEmail: ADMIN_EMAIL,
      adminPassword: ADMIN_PASSWORD,
      proc: srv.proc,
      exited: srv.exited,
      stderr: srv.stderr,
      // SIGTERM, wait, drop the database. Throws (with the server's stderr) unless the server
      // exited 0: a crash or a hang at shutdown is a bug too.
      async stop() {
        const r = await srv.stop();
        await fresh.drop().catch(() => {});
        if (r.code !== 0)
          throw new Error(`fidelis serve did not exit cleanly on SIGTERM (${r.code ?? r.signal})\nstderr: ${srv.stderr().slice(-4000)}`);
        return r;
      },
    };
  } catch (e) {
    await fresh.drop().catch(() => {});
    throw e;
  }
}

function serverDead(server) {
  return server.proc && (server.proc.exitCode !== null || server.proc.signalCode !== null);
}

function deadMessage(server) {
  const tail = server.stderr ? server.stderr().slice(-4000) : '';
  return `the fidelis server died (exit ${server.proc.exitCode ?? server.proc.signalCode})\nstderr:\n${tail}`;
}

// One HTTP request to the server.
//   key: an API key; role: the key of that role (server.keys[role]); cookie: a Cookie header value
//   body: sent as JSON (Content-Type application/json unless headers say otherwise)
//   raw: a string or Buffer sent as is (no Content-Type added)
// Resolves {status, headers (a Headers object), body (parsed when JSON, else text), text}.
export async function api(server, method, path, { key, role, cookie, body, headers = {}, raw, timeoutMs = 20_000 } = {}) {
  if (serverDead(server)) throw new Error(deadMessage(server));
  const h = { ...headers };
  const k = key ?? (role ? server.keys[role] : undefined);
  if (role && !k) throw new Error(`no API key for role ${role}`);
  if (k) h.Authorization = `Bearer ${k}`;
  if (cookie) h.Cookie = cookie;
  let payload;
  if (raw !== undefined) {
    payload = raw;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    if (!Object.keys(h).some((n) => n.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(server.url + path, {
      method,
      headers: h,
      body: payload,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    if (serverDead(server)) throw new Error(`${method} ${path}: ${e.message}\n${deadMessage(server)}`);
    throw new Error(`${method} ${path}: ${e.message}${e.cause ? ` (${e.cause.message ?? e.cause})` : ''}`);
  }
  const text = await res.text();
  let parsed = text;
  const ct = res.headers.get('content-type') || '';
  if (/json/i.test(ct) && text.length) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

// A short description of a response, for assertion messages.
export function show(res) {
  return `${res.status} ${typeof res.body === 'string' ? res.body.slice(0, 500) : JSON.stringify(res.body).slice(0, 500)}`;
}

// A TCP port free on loopback right now (for a server a test starts).
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Uploads `bytes` in chunks of `chunk` bytes (POST /uploads, then PUT each chunk); returns the upload id.
export async function uploadFile(server, role, bytes, chunk = bytes.length) {
  const created = await api(server, 'POST', '/api/v1/uploads', { role });
  assert.equal(created.status, 201, show(created));
  const id = created.body.upload_id;
  for (let off = 0; off < bytes.length; off += chunk) {
    const part = bytes.subarray(off, off + chunk);
    const r = await api(server, 'PUT', `/api/v1/uploads/${id}?offset=${off}`, {
      role, raw: part, headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(r.status, 200, show(r));
    assert.equal(r.body.size, Math.min(off + chunk, bytes.length));
  }
  return id;
}

// Follows an import (GET `location`) until it is no longer running; returns its last status response.
export async function waitForImport(server, location, role) {
  return waitForJob(server, location, role);
}

// Polls a job (an import, a deduplication run) until it is no longer running, for up to
// `deadlineMs` of wall time: a busy machine slows the job, not the verdict.
export async function waitForJob(server, location, role, deadlineMs = 60_000) {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const status = await api(server, 'GET', location, { role });
    assert.equal(status.status, 200, show(status));
    if (!['running', 'queued'].includes(status.body.status) || Date.now() > end) return status;
    await sleep(50);
  }
}

// `token` with one character changed, `fromEnd` characters from its end: always a change, whatever
// the character was.
export function tamper(token, fromEnd = 5) {
  const i = token.length - fromEnd;
  return token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
}
