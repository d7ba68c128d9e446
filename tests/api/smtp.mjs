// A real SMTP server for the API tests: Debian's aiosmtpd with tests/smtp/recorder.py, on a free
// loopback port. Recipients reject...@ get 550, tempfail...@ get 451; accepted messages are kept
// as .eml files with a .json summary made by Python's own MIME parser (decoded headers and parts).

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, sleep, freePort, api, show } from './harness.mjs';

function accepts(port) {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

// Runs a Python SMTP server from tests/smtp on `port` and waits until it accepts connections.
async function spawnPythonSmtp(args, port, what) {
  const proc = spawn('/usr/bin/python3', args, {
    env: { ...process.env, PYTHONPATH: join(ROOT, 'tests', 'smtp') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const end = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (Date.now() > end || proc.exitCode !== null) {
      // Gone before the caller removes the directory it writes to.
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await new Promise((r) => proc.once('exit', r));
      }
      throw new Error(`${what} did not start: ${stderr}`);
    }
    await sleep(50);
  }
  return proc;
}

export async function startSmtp() {
  const dir = mkdtempSync(join(tmpdir(), 'fidelis-smtp-'));
  let port;
  let proc;
  try {
    port = await freePort();
    proc = await spawnPythonSmtp(['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'recorder.Recorder', dir],
      port, 'aiosmtpd');
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url: `smtp://127.0.0.1:${port}`,
    // The messages received so far, oldest first: {raw, ...summary}.
    messages() {
      return readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => ({ ...JSON.parse(readFileSync(join(dir, f), 'utf8')), raw: readFileSync(join(dir, f.replace('.json', '.eml')), 'latin1') }));
    },
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The same recording server behind TLS with AUTH required (tests/smtp/secure_server.py): mode
// "starttls" (STARTTLS required on a plain port) or "smtps" (TLS from the first byte). A
// self-signed certificate for 127.0.0.1 is made with openssl; `caFile` is what a client must trust.
export async function startSecureSmtp({ mode, user, password }) {
  const dir = mkdtempSync(join(tmpdir(), 'fidelis-smtps-'));
  const certDir = mkdtempSync(join(tmpdir(), 'fidelis-cert-'));
  const cert = join(certDir, 'cert.pem');
  const key = join(certDir, 'key.pem');
  let port;
  let proc;
  try {
    await new Promise((resolve, reject) => {
      const p = spawn('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
      p.once('error', reject);
      p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`openssl exited ${code}`))));
    });
    port = await freePort();
    proc = await spawnPythonSmtp([join(ROOT, 'tests', 'smtp', 'secure_server.py'), '--port', String(port), '--dir', dir,
      '--cert', cert, '--key', key, '--mode', mode, '--user', user, '--password', password], port, 'the TLS SMTP server');
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    rmSync(certDir, { recursive: true, force: true });
    throw e;
  }
  return {
    url: `${mode === 'smtps' ? 'smtps' : 'smtp'}://127.0.0.1:${port}`,
    caFile: cert,
    messages() {
      return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
    },
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
      rmSync(certDir, { recursive: true, force: true });
    },
  };
}

// Polls GET /mail/messages/{id} on `server` until `done(message)`; returns the message.
export async function waitForMessage(server, id, done, what, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await api(server, 'GET', `/api/v1/mail/messages/${id}`, { role: 'agent' });
    assert.equal(r.status, 200, show(r));
    if (done(r.body)) return r.body;
    if (Date.now() > end) assert.fail(`message ${id} never got ${what}: ${show(r)}`);
    await sleep(100);
  }
}

// Waits until `smtp` has received `count` messages for `to`; returns them, oldest first.
export async function receivedBy(smtp, to, count, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const got = smtp.messages().filter((m) => m.rcpt_tos.includes(to));
    if (got.length >= count) return got;
    if (Date.now() > end) assert.fail(`${to} received ${got.length} messages, expected ${count}`);
    await sleep(100);
  }
}
