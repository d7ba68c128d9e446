// kill -9 during ingestion: 4 senders post batches of 100 events to a SQLite server and record
// every batch acknowledged (200); after a few seconds the server is killed with SIGKILL, restarted
// on the same database, and every acknowledged batch must be there in full.
// Usage: node bench/tracking_crash.mjs BIN DIR [seconds]  (prints one line of Markdown)

import { spawn, execFileSync } from 'node:child_process';

const [bin, dir, seconds = '4'] = process.argv.slice(2);
const db = `sqlite:${dir}/crash.db`;
const run = (args) => execFileSync(bin, ['--db', db, ...args], { encoding: 'utf8' });
run(['migrate']);
const key = run(['apikey', 'create', '--name', `crash${Date.now()}`, '--role', 'marketer']).trim().split('\n').at(-1);

function serve() {
  const p = spawn(bin, ['--db', db, 'serve', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, FIDELIS_LOG_LEVEL: 'warn' } });
  return new Promise((resolve) => {
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve({ p, url: m[1] });
    });
  });
}

const { p, url } = await serve();
const acked = new Set();
let sent = 0;
let stop = false;
async function sender(s) {
  for (let b = 0; !stop; b++) {
    const tag = `c${s}x${b}`;
    const events = Array.from({ length: 100 }, (_, i) => ({ visitor_id: `${tag}v${i % 10}`, type: 'page_view', url: `https://shop.fr/${i}` }));
    sent++;
    try {
      const r = await fetch(`${url}/api/v1/tracking/events`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` }, body: JSON.stringify({ events }) });
      if (r.status === 200) acked.add(tag);
      await r.text();
    } catch {
      return;  // the server is gone
    }
  }
}
const senders = [0, 1, 2, 3].map(sender);
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
p.kill('SIGKILL');
stop = true;
await Promise.all(senders);
await new Promise((r) => p.once('exit', r));

const again = await serve();  // recovery: opening the WAL database again
again.p.kill('SIGTERM');
await new Promise((r) => again.p.once('exit', r));
const rows = execFileSync('sqlite3', [`${dir}/crash.db`, "SELECT substr(visitor_id, 1, instr(visitor_id, 'v') - 1) AS tag, COUNT(*) FROM web_events GROUP BY tag"], { encoding: 'utf8' });
const stored = new Map(rows.trim().split('\n').filter(Boolean).map((l) => { const [t, n] = l.split('|'); return [t, Number(n)]; }));
const missing = [...acked].filter((t) => stored.get(t) !== 100);
console.log(`| kill -9 during ingestion (SQLite) | ${sent} batches sent, ${acked.size} acknowledged (${acked.size * 100} events) | ${stored.size} batches found after restart | acknowledged but missing or partial: ${missing.length} |`);
process.exit(missing.length === 0 ? 0 : 1);
