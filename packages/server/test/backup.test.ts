import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyClient, type Message, type SessionTokens } from '@parley/sdk';
import { uploadFile } from '@parley/sdk/node';
import { runParley, spawnServe, type ServeProcess } from './_cli.ts';
import { freshStore, startTestServer, stores, type TestServer, type TestStore, type TestUser } from './_harness.ts';

/** Every message of a chat, oldest first, a page of 100 at a time. */
async function allMessages(client: ParleyClient, chatId: string): Promise<Message[]> {
  const out: Message[] = [];
  let after = 0;
  for (;;) {
    const { messages } = await client.listMessages({ chatId, after, limit: 100 });
    out.push(...messages);
    if (messages.length < 100) return out;
    after = messages.at(-1)!.seq;
  }
}

const tmp = mkdtempSync(path.join(tmpdir(), 'parley-backup-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.each(await stores())('backup and restore on %s', (kind) => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let group: string;
  let dm: string;
  let fileBytes: Buffer;
  let fileId: string;
  let avatarId: string;
  let backupDir: string;
  let sentDuringBackup = 0;
  let restoredStore: TestStore;
  let restored: ServeProcess;
  const env = () => t.store.env as Record<string, string>;

  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_MESSAGE_RATE: '100000/10s', PARLEY_WRITE_RATE: '100000/10s' });
    [alice, bob, carol] = await t.users('alice', 'bob', 'carol');
    group = (await alice.client.createGroup({ title: 'Backed up', memberIds: [bob.id, carol.id] })).id;
    dm = (await alice.client.createPrivateChat({ userId: bob.id })).id;
    for (let i = 0; i < 40; i++) await alice.client.sendMessage({ chatId: i % 2 ? group : dm, clientMessageId: `m${i}`, text: `message ${i}` });
    const first = (await alice.client.listMessages({ chatId: dm })).messages[0]!;
    await alice.client.editMessage({ chatId: dm, messageId: first.id, text: 'edited before the backup' });
    const second = (await alice.client.listMessages({ chatId: dm })).messages[1]!;
    await alice.client.deleteMessage({ chatId: dm, messageId: second.id });
    fileBytes = randomBytes(3 * 1024 * 1024 + 17);
    fileId = (await uploadFile(bob.client, fileBytes, { name: 'report.bin', mimeType: 'application/octet-stream' })).fileId;
    await bob.client.sendMessage({
      chatId: group,
      clientMessageId: 'file',
      text: 'the report',
      attachments: [{ fileId, name: 'report.bin', mimeType: 'application/octet-stream' }],
    });
    avatarId = (await uploadFile(alice.client, Buffer.from('RIFF....WEBPVP8 me'), { name: 'me.webp', mimeType: 'image/webp' })).fileId;
    await alice.client.updateMe({ avatarFileId: avatarId });

    // The backup runs while Carol keeps sending.
    backupDir = path.join(tmp, `backup-${kind}`);
    let sending = true;
    const load = (async () => {
      let i = 0;
      while (sending) {
        await carol.client.sendMessage({ chatId: group, clientMessageId: `load${i++}`, text: `during the backup ${i}` });
        sentDuringBackup++;
      }
    })();
    const result = await runParley(['backup', backupDir], env(), 60_000);
    sending = false;
    await load;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Files: 2 /);

    restoredStore = await freshStore(kind);
    const r = await runParley(['restore', backupDir], restoredStore.env as Record<string, string>, 60_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    restored = await spawnServe({ ...(restoredStore.env as Record<string, string>), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' }, 30_000);
  }, 180_000);

  afterAll(async () => {
    restored?.kill();
    await restored?.exited;
    await restoredStore?.drop();
    await t?.close();
  });

  /** The same device, its tokens presented to the restored server. */
  const onRestored = (tokens: SessionTokens) => new ParleyClient({ baseUrl: restored.url, session: tokens });

  it('a client reads the same on the restored server: profile, sessions, chats, history up to the snapshot, files', async () => {
    expect(sentDuringBackup).toBeGreaterThan(0);
    for (const u of [alice, bob, carol]) {
      const before = u.client;
      const after = onRestored(before.session!);
      // Sessions are restored: the tokens the device holds still work.
      expect(await after.getMe()).toEqual(await before.getMe());
      expect((await after.listSessions()).sessions.map((s) => s.id).sort()).toEqual((await before.listSessions()).sessions.map((s) => s.id).sort());
      const chatsAfter = (await after.listChats()).chats;
      const chatsBefore = (await before.listChats()).chats;
      expect(chatsAfter.map((c) => c.id).sort()).toEqual(chatsBefore.map((c) => c.id).sort());
      for (const c of chatsAfter) {
        const original = await allMessages(before, c.id);
        const copy = await allMessages(after, c.id);
        // A snapshot: exactly the original's history up to one position, nothing missing, nothing extra.
        expect(copy).toEqual(original.filter((m) => m.seq <= c.lastSeq));
      }
    }
    const groupAfter = await allMessages(onRestored(alice.client.session!), group);
    const loadKept = groupAfter.filter((m) => m.text?.startsWith('during the backup')).length;
    console.log(`[${kind}] ${sentDuringBackup} messages sent during the backup, ${loadKept} of them in the snapshot`);
    // The edit and the delete made before the backup are in it.
    const dmAfter = await allMessages(onRestored(alice.client.session!), dm);
    expect(dmAfter[0]!.text).toBe('edited before the backup');
    expect(dmAfter[1]!.deletedAt).not.toBeNull();

    const file = await onRestored(carol.client.session!).downloadFile(fileId);
    expect(Buffer.from(await file.arrayBuffer()).equals(fileBytes)).toBe(true);
    const avatar = await onRestored(bob.client.session!).downloadFile(avatarId);
    expect(await avatar.text()).toBe('RIFF....WEBPVP8 me');
  });

  it('the restored server goes on: new messages continue each chat gap-free', async () => {
    const client = onRestored(alice.client.session!);
    const last = (await client.getChat({ chatId: group })).lastSeq;
    const m = await client.sendMessage({ chatId: group, clientMessageId: 'after-restore', text: 'after the restore' });
    expect(m.seq).toBe(last + 1);
  });

  it('refuses a damaged or unusable backup with a clear message, and writes nothing', async () => {
    const refused = async (name: string, damage: (dir: string) => void, pattern: RegExp) => {
      const dir = path.join(tmp, `${kind}-${name}`);
      cpSync(backupDir, dir, { recursive: true });
      damage(dir);
      const target = await freshStore(kind);
      try {
        const r = await runParley(['restore', dir], target.env as Record<string, string>, 60_000);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(pattern);
        // Nothing was written: the target's data directory is as empty as it was.
        expect(readdirSync((target.env as Record<string, string>).PARLEY_DATA_DIR!)).toEqual([]);
      } finally {
        await target.drop();
      }
    };
    const blobs = (dir: string) => path.join(dir, 'blobs');
    await refused(
      'blob',
      (dir) => {
        const file = path.join(blobs(dir), fileId);
        const bytes = readFileSync(file);
        bytes[1000] ^= 0xff;
        writeFileSync(file, bytes);
      },
      new RegExp(`File ${fileId} does not match the manifest`),
    );
    await refused('missing-blob', (dir) => rmSync(path.join(blobs(dir), avatarId)), new RegExp(`File ${avatarId} is missing`));
    await refused(
      'database',
      (dir) => {
        const db = readdirSync(dir).find((f) => f.startsWith('parley.'))!;
        const bytes = readFileSync(path.join(dir, db));
        writeFileSync(path.join(dir, db), bytes.subarray(0, bytes.length - 100));
      },
      /database file parley\.\w+ does not match the manifest/,
    );
    await refused(
      'newer',
      (dir) => {
        const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
        m.schema.push('999_from_the_future');
        writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
      },
      /999_from_the_future, which this Parley does not know: it was made by a newer version/,
    );
    await refused('no-manifest', (dir) => rmSync(path.join(dir, 'manifest.json')), /has no manifest\.json/);
    await refused('bad-manifest', (dir) => writeFileSync(path.join(dir, 'manifest.json'), '{"format":"parley-backup"'), /not valid JSON/);
  });

  it('refuses to restore over live data, and to back up into a directory that is not empty', async () => {
    const over = await runParley(['restore', backupDir], env(), 60_000);
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(kind === 'sqlite' ? /already exists: restore into an empty data directory/ : /has tables: restore into an empty database/);
    const again = await runParley(['backup', backupDir], env(), 60_000);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/is not empty/);
  });
});
