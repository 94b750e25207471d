// What a commit costs on this disk: messages per second with one transaction per message and
// with group commit (one transaction per batch), in SQLite WAL with synchronous NORMAL (survives
// a process crash) and FULL (fsync on every commit: survives power loss too).
//   tsx bench/commit-cost.ts [messages]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';

const n = Number(process.argv[2] ?? 5000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-commit-'));
const text = 'x'.repeat(100);

function run(sync: 'NORMAL' | 'FULL', batch: number): number {
  const file = path.join(dir, `c-${sync}-${batch}.sqlite`);
  const db = new SQLite(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync}`);
  db.exec('create table m (id integer primary key, chat_id text not null, seq integer not null, text text not null)');
  db.exec('create unique index m_chat_seq on m(chat_id, seq)');
  const ins = db.prepare('insert into m (chat_id, seq, text) values (?, ?, ?)');
  const tx = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) ins.run(`chat${i % 50}`, i, text);
  });
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i += batch) tx(i, Math.min(n, i + batch));
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  db.close();
  return Math.round(n / s);
}

const rows: string[] = ['| synchronous | messages per transaction | messages/s |', '|---|---|---|'];
for (const sync of ['NORMAL', 'FULL'] as const) for (const batch of [1, 10, 50]) rows.push(`| ${sync} | ${batch} | ${run(sync, batch)} |`);
fs.rmSync(dir, { recursive: true, force: true });
process.stdout.write(rows.join('\n') + '\n');
