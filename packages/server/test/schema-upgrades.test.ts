import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Message, ParleyClient } from '@parley/sdk';
import { migrations } from '../src/adapters/db/migrations.ts';
import { freshStore, startTestServer, stores, type StoreKind, type TestStore } from './_harness.ts';
import {
  fixtureLevels,
  fixtureName,
  loadFixture,
  migrateTo,
  openStore,
  readExpectation,
  readSnapshots,
  snapshotOf,
  type FixtureMessage,
} from './_schema-fixtures.ts';

const LEVELS = Object.keys(migrations).sort();
const snapshots = readSnapshots();

async function allMessages(client: ParleyClient, chatId: string): Promise<Message[]> {
  const out: Message[] = [];
  for (let after = 0; ;) {
    const { messages } = await client.listMessages({ chatId, after, limit: 100 });
    out.push(...messages);
    if (messages.length < 100) return out;
    after = messages.at(-1)!.seq;
  }
}

/** A message as the fixtures record it. */
function recorded(m: Message): FixtureMessage {
  return {
    id: m.id,
    seq: m.seq,
    senderId: m.senderId,
    text: m.text,
    replyToId: m.replyToId,
    edited: m.editedAt !== null,
    deleted: m.deletedAt !== null,
    ...(m.attachments ? { attachments: m.attachments.map((a) => ({ fileId: a.fileId, name: a.name, mimeType: a.mimeType, size: a.size })) } : {}),
  };
}

/** A store migrated by the current code, from nothing, up to `level` (the latest when not given). */
async function migratedStore(kind: StoreKind, level?: string): Promise<TestStore> {
  const store = await freshStore(kind);
  const db = await openStore(store);
  try {
    if (level) await migrateTo(db.kysely as never, level);
    else await db.migrate();
  } finally {
    await db.close();
  }
  return store;
}

describe.each(await stores())('schema upgrades on %s', (kind) => {
  it('every migration has a frozen schema, and the migrations as they are now still build each level exactly', async () => {
    // A migration added without its snapshot, or an old migration edited after release, fails here:
    // deployed databases were built by the migration as it was, and only new migrations reach them.
    expect(Object.keys(snapshots).sort(), 'run npx tsx scripts/make-schema-fixture.ts to freeze a new migration').toEqual(LEVELS);
    for (const level of LEVELS) {
      const store = await migratedStore(kind, level);
      try {
        expect(await snapshotOf(store, kind), `the schema after ${level}`).toEqual(snapshots[level]![kind]);
      } finally {
        await store.drop();
      }
    }
  });

  it('has a data fixture for every level from 002 on', () => {
    expect(fixtureLevels()).toEqual(LEVELS.filter((l) => l >= '002'));
  });

  it.each(fixtureLevels())('a database at %s upgrades, reads the same through the server and ends with the fresh schema', async (level) => {
    const expected = readExpectation(level);
    const store = await loadFixture(kind, level);
    try {
      // The fixture is what that level built; then the server applies whatever came after at start-up.
      expect(await snapshotOf(store, kind), `${fixtureName(level)} as frozen`).toEqual(snapshots[level]![kind]);
      const t = await startTestServer(kind, store.env);
      try {
        for (const u of expected.users) {
          const client = t.client();
          await client.login({ username: u.username, password: u.password, deviceName: 'after-upgrade' });
          const chats = (await client.listChats()).chats;
          expect(
            chats
              .map((c) => ({ id: c.id, kind: c.kind, title: c.title, memberCount: c.memberCount, lastSeq: c.lastSeq, readSeq: c.readSeq }))
              .sort((a, b) => a.id.localeCompare(b.id)),
            `${u.username}'s chats`,
          ).toEqual(u.chats);
          for (const c of chats) expect((await allMessages(client, c.id)).map(recorded), `history of ${c.title}`).toEqual(expected.histories[c.id]);
          expect(
            (await client.listChatInvitations()).invitations.map((i) => i.chatId),
            `${u.username}'s invitations`,
          ).toEqual(expected.invitations[u.username]);
        }
        for (const [fileId, sha256] of Object.entries(expected.files)) {
          const owner = t.client();
          const uploader = expected.users.find((u) => u.username === 'ben')!;
          await owner.login({ username: uploader.username, password: uploader.password, deviceName: 'download' });
          const res = await owner.downloadFile(fileId);
          expect(res.status).toBe(200);
          expect(
            createHash('sha256')
              .update(Buffer.from(await res.arrayBuffer()))
              .digest('hex'),
          ).toBe(sha256);
        }
        // The upgraded store takes new writes where the old ones stopped.
        const ada = t.client();
        await ada.login({ username: 'ada', password: expected.users[0]!.password, deviceName: 'writer' });
        const group = expected.users[0]!.chats.find((c) => c.kind === 'group')!;
        const sent = await ada.sendMessage({ chatId: group.id, clientMessageId: 'after-upgrade', text: 'Written after the upgrade' });
        expect(sent.seq).toBe(group.lastSeq + 1);
      } finally {
        await t.close();
      }
      const fresh = await migratedStore(kind);
      try {
        expect(await snapshotOf(store, kind)).toEqual(await snapshotOf(fresh, kind));
      } finally {
        await fresh.drop();
      }
    } finally {
      await store.drop();
    }
  });
});
