// `fidelis dedup --pairs`: two exports of the same shop's customers, imported without matching,
// give the pairs a person would expect (typos, missing accents, swapped names, e-mail variants),
// with their scores and decisions, and change nothing.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drivers, freshDatabase, cli, cliOk } from './harness.mjs';

const SHOP = [
  'N° client;Prénom;Nom;E-mail;Téléphone;Date de naissance;Adresse;Code postal;Ville',
  'S1;Hélène;Lefèvre;helene.lefevre@orange.fr;06 11 22 33 44;09/07/1984;3 allée des Tilleuls;75011;Paris',
  'S2;François;Dupont;f.dupont@free.fr;06 55 44 33 22;01/03/1975;12 rue Haute;69002;Lyon',
  'S3;Gaëlle;Le Goff;gaelle.legoff@gmail.com;02 98 00 11 22;14/02/1990;5 quai Est;29200;Brest',
  'S4;Marc;Bernard;marc.bernard@sfr.fr;06 99 88 77 66;22/11/1968;8 rue Neuve;33000;Bordeaux',
].join('\r\n') + '\r\n';

const NEWSLETTER = [
  'id,first name,last name,email,phone,birth date,street,zip,city',
  'N1,Helene,Lefebvre,helene.lefevre@orange.fr,+33611223344,1984-07-09,3 allee des Tilleuls,75011,Paris',
  'N2,Dupont,Francois,f.dupont+promo@free.fr,0655443322,1975-03-01,12 rue Haute,69002,Lyon',
  'N3,Gaelle,Le Gof,,02 98 00 11 22,1990-02-14,5 quai Est,29200,Brest',
  'N4,Sophie,Bernard,sophie.b@laposte.net,07 12 34 56 87,1995-05-05,2 place Ronde,13001,Marseille',
].join('\n') + '\n';

// 300 people: the first 150 twice (sometimes with a new e-mail or mobile), the others beside a
// namesake at their postcode. Deterministic: a small linear congruential generator.
function duplicatesFile() {
  let seed = 7;
  const rand = (n) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const firsts = ['Jean', 'Marie', 'Luc', 'Anne', 'Paul', 'Claire', 'Louis', 'Julie', 'Hugo', 'Emma', 'Noah', 'Tom'];
  const digits = (n) => String(rand(10 ** n)).padStart(n, '0');
  const rows = ['Prénom;Nom;E-mail;Téléphone;Date de naissance;Code postal'];
  for (let i = 0; i < 300; ++i) {
    const first = firsts[rand(firsts.length)];
    const last = `Durand${i}`;
    const postcode = `${10 + rand(85)}${digits(3)}`;
    const born = `${String(1 + rand(28)).padStart(2, '0')}/${String(1 + rand(12)).padStart(2, '0')}/${1950 + rand(50)}`;
    const phone = `06${digits(8)}`;
    rows.push(`${first};${last};${first.toLowerCase()}.${i}@exemple.fr;${phone};${born};${postcode}`);
    if (i < 150) {
      const email = rand(10) < 6 ? `${first.toLowerCase()}.${i}@exemple.fr` : `${first.toLowerCase()}${i}@autre.fr`;
      rows.push(`${first};${last};${email};${rand(10) < 7 ? phone : `07${digits(8)}`};${born};${postcode}`);
    } else {
      const other = firsts.filter((f) => f !== first)[rand(firsts.length - 1)];
      rows.push(`${other};${last};${other.toLowerCase()}.${i}@ailleurs.fr;06${digits(8)};${String(1 + rand(28)).padStart(2, '0')}/03/${1950 + rand(50)};${postcode}`);
    }
  }
  return rows.join('\r\n') + '\r\n';
}

for (const driver of drivers()) {
  describe(driver, () => {
    test('dedup --estimate learns the weights from the base; dedup.model_file uses them', async () => {
      const { db, drop } = await freshDatabase(driver);
      const dir = mkdtempSync(join(tmpdir(), 'fidelis-estimate-'));
      try {
        writeFileSync(join(dir, 'dups.csv'), duplicatesFile());
        await cliOk(['--db', db, 'import', 'customers', join(dir, 'dups.csv'), '--source', 'shop', '--no-dedup']);
        const model = join(dir, 'model.txt');
        const r = await cliOk(['--db', db, 'dedup', '--estimate', model]);
        assert.match(r.stdout, /^600 customers, \d+ candidate pairs: estimated match share 0\.\d+/);
        // Live customers never share an e-mail: that field keeps its values.
        assert.match(r.stdout, /email: too few pairs agree or disagree on it to learn from/);
        const text = readFileSync(model, 'utf8');
        assert.match(text, /^birth_date 0 m /m);
        // The file is what scores the pairs then: other decisions than the built-in model's, and
        // only true duplicates (customers 2k-1 and 2k, k <= 150) merged.
        const pairsFile = join(dir, 'pairs.csv');
        const merges = async (env) => {
          const out = await cliOk(['--db', db, 'dedup', '--pairs', pairsFile], { env });
          const lines = readFileSync(pairsFile, 'utf8').trim().split('\r\n').slice(1).map((l) => l.split(','));
          const merged = lines.filter((l) => l[3] === 'merge').map((l) => l.slice(0, 2).map((x) => Number(x.slice(3))).sort((a, b) => a - b));
          for (const [a, b] of merged) assert.ok(b === a + 1 && a % 2 === 1 && a < 300, `${a}-${b} merged\n${out.stdout}`);
          return { summary: out.stdout.split('\n')[0].replace(/; [\d.]+ s.*/, ''), merged: merged.length };
        };
        const builtIn = await merges({});
        const learned = await merges({ FIDELIS_DEDUP_MODEL_FILE: model });
        assert.notEqual(learned.summary, builtIn.summary);
        assert.ok(learned.merged > 50, JSON.stringify(learned));
        writeFileSync(join(dir, 'bad.txt'), 'first_name 0 m 0.5 0.5\n');
        const bad = await cli(['--db', db, 'dedup', '--pairs', pairsFile], { env: { FIDELIS_DEDUP_MODEL_FILE: join(dir, 'bad.txt') } });
        assert.notEqual(bad.code, 0);
        assert.match(bad.stderr, /dedup\.model_file: .*line 1: first_name has 4 levels/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await drop();
      }
    });

    test('finds the same people across two sources and changes nothing', async () => {
      const { db, drop } = await freshDatabase(driver);
      const dir = mkdtempSync(join(tmpdir(), 'fidelis-dedup-'));
      try {
        writeFileSync(join(dir, 'shop.csv'), SHOP);
        writeFileSync(join(dir, 'news.csv'), NEWSLETTER);
        await cliOk(['--db', db, 'import', 'customers', join(dir, 'shop.csv'), '--source', 'shop', '--no-dedup']);
        // --no-dedup: the newsletter's copy of Hélène keeps her e-mail with its first owner (flagged).
        await cliOk(['--db', db, 'import', 'customers', join(dir, 'news.csv'), '--source', 'newsletter', '--no-dedup']);
        const pairsFile = join(dir, 'pairs.csv');
        const r = await cliOk(['--db', db, 'dedup', '--pairs', pairsFile]);
        assert.match(r.stdout, /^8 customers, \d+ pairs compared: /);
        const lines = readFileSync(pairsFile, 'utf8').trim().split('\r\n');
        assert.equal(lines[0], 'external_id_a,external_id_b,score,decision');
        const pairs = new Map(lines.slice(1).map((l) => {
          const [a, b, score, decision] = l.split(',');
          return [[a, b].sort().join('-'), { score: Number(score), decision }];
        }));
        for (const [a, b] of [['S1', 'N1'], ['S2', 'N2'], ['S3', 'N3']]) {
          const p = pairs.get([a, b].sort().join('-'));
          assert.ok(p, `${a}-${b} missing from ${lines.join(' | ')}`);
          assert.ok(p.decision === 'merge' || p.decision === 'review', `${a}-${b}: ${p.decision}`);
        }
        assert.equal(pairs.get(['S1', 'N1'].sort().join('-')).decision, 'merge');
        // Same surname, different people: not proposed for merging.
        const bernard = pairs.get(['S4', 'N4'].sort().join('-'));
        assert.ok(!bernard || bernard.decision !== 'merge', JSON.stringify(bernard));
        // Nothing changed: still eight customers.
        const again = await cliOk(['--db', db, 'dedup', '--pairs', pairsFile]);
        assert.match(again.stdout, /^8 customers/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await drop();
      }
    });
  });
}
