// npx tsx scripts/make-schema-fixture.ts [LEVEL ...]
//
// Freezes what a deployment at a schema level holds, for the upgrade tests
// (packages/server/test/schema-upgrades.test.ts):
//   - packages/server/test/fixtures/schema/snapshots.json gets the schema of every migration level it
//     does not have yet, on SQLite and PostgreSQL (existing entries are never rewritten);
//   - for each LEVEL (a migration name, default the latest), after-NNN.sqlite, after-NNN.pg.sql (a plain
//     pg_dump), after-NNN.expected.json (what each user reads through the SDK) and after-NNN.blobs/.
// The data is made by this checkout's server through the SDK at the latest schema, then copied, column by
// column, into a store migrated only up to LEVEL. Made for the latest level (the usual case: right after
// adding a migration), the copy drops nothing; made for an older level, it drops what later migrations
// added (an invitation below 003, a file's attachments below 004). An existing fixture is never replaced: it stands for databases
// already deployed, and a later change to an old migration must be caught by it, not written over it.
// Needs PostgreSQL (PARLEY_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test) and pg_dump.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import type { Message, ParleyClient } from '@parley/sdk';
import { uploadFile } from '@parley/sdk/node';
import { freshStore, startTestServer, type StoreKind, type TestServer } from '@parley/test-kit';
import { migrations } from '../packages/server/src/adapters/db/migrations.ts';
import { schemaSnapshot, type SchemaSnapshot } from '../packages/server/src/adapters/db/schema-snapshot.ts';
import {
  SNAPSHOTS_FILE,
  fixturePaths,
  migrateTo,
  openStore,
  readSnapshots,
  smallSqlite,
  type FixtureExpectation,
  type FixtureMessage,
} from '../packages/server/test/_schema-fixtures.ts';

const LEVELS = Object.keys(migrations).sort();
const INVITATIONS_LEVEL = '003_chat_invitations';
const FILES_LEVEL = '004_files';

async function allMessages(client: ParleyClient, chatId: string): Promise<Message[]> {
  const out: Message[] = [];
  for (let after = 0; ;) {
    const { messages } = await client.listMessages({ chatId, after, limit: 100 });
    out.push(...messages);
    if (messages.length < 100) return out;
    after = messages.at(-1)!.seq;
  }
}

/** Users, devices, invites, every kind of chat, replies, an edit, a delete, a read position, a leave and a file. */
async function seed(t: TestServer): Promise<Omit<FixtureExpectation, 'level'>> {
  const adaClient = t.client();
  await adaClient.register({ inviteCode: await t.invite({ admin: true }), username: 'ada', password: 'pw-ada-fixture', displayName: 'Ada' });
  await adaClient.login({ username: 'ada', password: 'pw-ada-fixture', deviceName: 'ada-laptop' });
  await t.client().login({ username: 'ada', password: 'pw-ada-fixture', deviceName: 'ada-phone' });
  const [ben, cy] = await t.users('ben', 'cyd');
  const ada = { id: (await adaClient.getMe()).id, client: adaClient };
  await adaClient.createInvite({ maxUses: 5, expiresInSeconds: 31_536_000 });
  const revoked = await adaClient.createInvite({ maxUses: 1 });
  await adaClient.revokeInvite({ inviteId: revoked.id });

  const dm = (await ada.client.createPrivateChat({ userId: ben.id })).id;
  const group = (await ada.client.createGroup({ title: 'Project', memberIds: [ben.id, cy.id] })).id;
  const channel = (await ada.client.createChannel({ title: 'News', memberIds: [ben.id] })).id;
  const saved = (await ada.client.listChats()).chats.find((c) => c.kind === 'self')!.id;

  let n = 0;
  const send = (client: ParleyClient, chatId: string, text: string, extra: { replyToId?: string } = {}) =>
    client.sendMessage({ chatId, clientMessageId: `fixture-${++n}`, text, ...extra });
  const hello = await send(ada.client, dm, 'Hello Ben');
  await send(ben.client, dm, 'Hi Ada', { replyToId: hello.id });
  const typo = await send(ada.client, dm, 'The meeting is at noon on Frdiay');
  await ada.client.editMessage({ chatId: dm, messageId: typo.id, text: 'The meeting is at noon on Friday' });
  const oops = await send(ben.client, dm, 'Wrong chat, sorry');
  await ben.client.deleteMessage({ chatId: dm, messageId: oops.id });
  const notes = Buffer.from('Agenda\n1. Budget\n2. Plans for the spring\n');
  const file = await uploadFile(ben.client, notes, { name: 'agenda.txt', mimeType: 'text/plain' });
  await ben.client.sendMessage({
    chatId: dm,
    clientMessageId: `fixture-${++n}`,
    text: 'The agenda',
    attachments: [{ fileId: file.fileId, name: 'agenda.txt', mimeType: 'text/plain' }],
  });
  await ben.client.markRead({ chatId: dm, seq: (await ben.client.getChat({ chatId: dm })).lastSeq });

  await send(ada.client, group, 'Welcome to the project, both of you');
  await send(cy.client, group, 'Thanks! Glad to be here');
  await send(ben.client, group, 'Shall we start on Monday?');
  await cy.client.leaveChat({ chatId: group });
  await send(ada.client, group, 'Cyd has moved to another team');
  // Cyd lets nobody add her: Ada's add becomes an invitation, left unanswered.
  await cy.client.updateMe({ addPolicy: 'nobody' });
  await ada.client.addMembers({ chatId: channel, userIds: [cy.id] });
  await send(ada.client, channel, 'First post on the channel');
  await send(ada.client, channel, 'Second post, with news');
  await send(ada.client, saved, 'Note to self: book the room');

  const users: FixtureExpectation['users'] = [];
  const invitations: FixtureExpectation['invitations'] = {};
  const histories: FixtureExpectation['histories'] = {};
  for (const [username, password, client] of [
    ['ada', 'pw-ada-fixture', ada.client],
    ['ben', ben.password, ben.client],
    ['cyd', cy.password, cy.client],
  ] as const) {
    const chats = (await client.listChats()).chats;
    users.push({
      username,
      password,
      chats: chats
        .map((c) => ({ id: c.id, kind: c.kind, title: c.title, memberCount: c.memberCount, lastSeq: c.lastSeq, readSeq: c.readSeq }))
        .sort((a, b) => a.id.localeCompare(b.id)),
    });
    invitations[username] = (await client.listChatInvitations()).invitations.map((i) => i.chatId);
    for (const c of chats) {
      histories[c.id] ??= (await allMessages(client, c.id)).map((m): FixtureMessage => ({
        id: m.id,
        seq: m.seq,
        senderId: m.senderId,
        text: m.text,
        replyToId: m.replyToId,
        edited: m.editedAt !== null,
        deleted: m.deletedAt !== null,
        ...(m.attachments ? { attachments: m.attachments.map((a) => ({ fileId: a.fileId, name: a.name, mimeType: a.mimeType, size: a.size })) } : {}),
      }));
    }
  }
  return { users, histories, invitations, files: { [file.fileId]: createHash('sha256').update(notes).digest('hex') } };
}

/** Tables in an order that inserts every referenced row before the rows that refer to it. */
function insertOrder(schema: SchemaSnapshot): string[] {
  const order: string[] = [];
  const visit = (table: string, seen: Set<string>) => {
    if (order.includes(table) || seen.has(table)) return;
    seen.add(table);
    for (const c of schema.tables[table]?.constraints ?? []) {
      const ref = /references "?(\w+)"?\s*\(/i.exec(c)?.[1];
      if (ref && ref !== table) visit(ref, seen);
    }
    order.push(table);
  };
  for (const table of Object.keys(schema.tables)) visit(table, new Set());
  return order;
}

/** Copies the seed's rows into target, keeping only the tables and columns target's schema has. */
async function copyRows(source: Kysely<unknown>, target: Kysely<unknown>, targetKind: StoreKind): Promise<void> {
  const schema = await schemaSnapshot(target, targetKind);
  // Full-text indexes (SQLite virtual tables and their shadow tables) are kept by triggers, not copied.
  const virtual = (
    await sql<{ name: string }>`select name from sqlite_master where type = 'table' and sql like 'CREATE VIRTUAL TABLE%'`.execute(source)
  ).rows.map((r) => r.name);
  const derived = (table: string) => virtual.some((v) => table === v || table.startsWith(`${v}_`));
  for (const table of insertOrder(await schemaSnapshot(source, 'sqlite'))) {
    if (derived(table)) continue;
    const columns = schema.tables[table]?.columns.map((c) => c.split(' ')[0]!);
    if (!columns) continue;
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(source)).rows;
    for (const row of rows) {
      const values = Object.fromEntries(columns.filter((c) => c in row).map((c) => [c, row[c]]));
      await (target as Kysely<Record<string, Record<string, unknown>>>).insertInto(table).values(values).execute();
    }
  }
}

async function makeFixture(level: string, t: TestServer, expectation: Omit<FixtureExpectation, 'level'>): Promise<void> {
  const paths = fixturePaths(level);
  const hasFiles = level >= FILES_LEVEL;
  const source = t.server.ctx.db.kysely as unknown as Kysely<unknown>;

  const tmp = mkdtempSync(path.join(tmpdir(), 'parley-fixture-'));
  try {
    const lite = smallSqlite(path.join(tmp, 'fixture.sqlite'));
    await migrateTo(lite, level);
    await copyRows(source, lite, 'sqlite');
    await sql`vacuum`.execute(lite);
    await lite.destroy();
    copyFileSync(path.join(tmp, 'fixture.sqlite'), paths.sqlite);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const store = await freshStore('postgres');
  try {
    const db = await openStore(store);
    try {
      await migrateTo(db.kysely as unknown as Kysely<unknown>, level);
      await copyRows(source, db.kysely as unknown as Kysely<unknown>, 'postgres');
    } finally {
      await db.close();
    }
    const dump = execFileSync('pg_dump', ['--inserts', '--no-owner', '--no-privileges', '--no-comments', store.env.DATABASE_URL!], { encoding: 'utf8' });
    // Recent pg_dump releases wrap the dump in psql-only \restrict lines: the fixture is plain SQL.
    writeFileSync(paths.postgres, dump.replace(/^\\(un)?restrict .*\n/gm, ''));
  } finally {
    await store.drop();
  }

  if (hasFiles) {
    mkdirSync(paths.blobs, { recursive: true });
    const blobDir = t.server.ctx.config.files.blobDir;
    for (const id of Object.keys(expectation.files)) copyFileSync(path.join(blobDir, id), path.join(paths.blobs, id));
  }
  // What a level without files keeps of a message is its text.
  const histories = Object.fromEntries(
    Object.entries(expectation.histories).map(([chatId, messages]) => [chatId, hasFiles ? messages : messages.map(({ attachments: _, ...m }) => m)]),
  );
  // Below 003 there were no invitations: Cyd's row goes with its table.
  const invitations = Object.fromEntries(Object.entries(expectation.invitations).map(([u, ids]) => [u, level >= INVITATIONS_LEVEL ? ids : []]));
  const expected: FixtureExpectation = { level, users: expectation.users, histories, invitations, files: hasFiles ? expectation.files : {} };
  writeFileSync(paths.expected, `${JSON.stringify(expected, null, 2)}\n`);
  console.log(`Wrote ${path.basename(paths.expected, '.expected.json')}: .sqlite, .pg.sql, .expected.json${hasFiles ? ', .blobs/' : ''}`);
}

async function addSnapshots(): Promise<void> {
  const snapshots = readSnapshots();
  for (const level of LEVELS.filter((l) => !snapshots[l])) {
    const entry = {} as Record<StoreKind, SchemaSnapshot>;
    for (const kind of ['sqlite', 'postgres'] as const) {
      const store = await freshStore(kind);
      try {
        const db = await openStore(store);
        try {
          await migrateTo(db.kysely as unknown as Kysely<unknown>, level);
          entry[kind] = await schemaSnapshot(db.kysely as unknown as Kysely<unknown>, kind);
        } finally {
          await db.close();
        }
      } finally {
        await store.drop();
      }
    }
    snapshots[level] = entry;
    console.log(`Froze the schema of ${level}`);
  }
  writeFileSync(SNAPSHOTS_FILE, `${JSON.stringify(snapshots, null, 2)}\n`);
}

async function main(): Promise<void> {
  const levels = process.argv.slice(2);
  if (levels.length === 0) levels.push(LEVELS.at(-1)!);
  for (const level of levels) {
    if (!LEVELS.includes(level)) throw new Error(`No migration is named "${level}" (there are ${LEVELS.join(', ')})`);
    if (existsSync(fixturePaths(level).expected))
      throw new Error(`The fixture of ${level} exists; fixtures are frozen (delete it by hand only if it was never released)`);
  }
  mkdirSync(path.dirname(SNAPSHOTS_FILE), { recursive: true });
  await addSnapshots();
  const t = await startTestServer('sqlite', { PARLEY_MESSAGE_RATE: '1000/10s' });
  try {
    const expectation = await seed(t);
    for (const level of levels) await makeFixture(level, t, expectation);
  } finally {
    await t.close();
  }
}

await main();
