import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  createApplicationMessage,
  createCommit,
  createGroup,
  createGroupInfoWithExternalPubAndRatchetTree,
  defaultCapabilities,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  type ClientState,
  type KeyPackage,
} from 'ts-mls';
import { ParleyClient, type ChatEvent, type Message, type ParleyError, type SessionTokens, type UserEvent } from '@parley/sdk';
import { uploadFile } from '@parley/sdk/node';
import { runParley, spawnServe, type ServeProcess } from './_cli.ts';
import { freshStore, startTestServer, stores, type TestServer, type TestStore, type TestUser } from './_harness.ts';
import { s3Client, startSwift, swiftUnavailable, type Swift } from './_swift.ts';
import { b64, cipherSuite, deviceCert, deviceKeys, identityKey, makeKeyPackage, type MadeKeyPackage } from './_mls.ts';

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

type DeviceKeys = Awaited<ReturnType<typeof deviceKeys>>;

/** An identity key with a recovery blob, and the user's first device, active at once with its certificate. */
async function e2eeDevice(u: TestUser): Promise<{ keys: DeviceKeys; cert: Buffer }> {
  const aik = identityKey();
  await u.client.putIdentity({ publicKey: b64(aik.publicKey), recoveryBlob: b64(randomBytes(80)) });
  const keys = await deviceKeys();
  const cert = deviceCert(aik, { userId: u.id, deviceId: u.session.sessionId, signatureKey: keys.publicKey });
  expect((await u.client.registerDevice({ signaturePublicKey: b64(keys.publicKey), cert: b64(cert) })).status).toBe('active');
  return { keys, cert };
}

/** A commit of the group (a self-update, or adds) as a PublicMessage, base64, with the new epoch's GroupInfo. */
async function commitOf(state: ClientState, add: KeyPackage[] = []) {
  const cs = await cipherSuite();
  const r = await createCommit(
    { state, cipherSuite: cs },
    { wireAsPublicMessage: true, ratchetTreeExtension: true, extraProposals: add.map((keyPackage) => ({ proposalType: 'add', add: { keyPackage } })) },
  );
  const groupInfo = await createGroupInfoWithExternalPubAndRatchetTree(r.newState, [], cs);
  return {
    commit: b64(encodeMlsMessage(r.commit)),
    groupInfo: b64(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo })),
    ...(r.welcome ? { welcome: b64(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: r.welcome })) } : {}),
    newState: r.newState,
  };
}

const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e as ParleyError,
  );

const mlsEvents = async (client: ParleyClient, chatId: string) =>
  (await client.getChanges({ userSeq: 0, chats: { [chatId]: 0 } })).events.filter((e): e is ChatEvent => e.log === 'chat' && e.type === 'mls.commit');
const deviceEvents = async (client: ParleyClient) =>
  (await client.getChanges({ userSeq: 0, chats: {} })).events.filter((e): e is UserEvent => e.log === 'user' && e.type.startsWith('device'));

const bothStores = (await stores()).length === 2;

const tmp = mkdtempSync(path.join(tmpdir(), 'parley-backup-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.each(await stores())('backup and restore on %s', (kind) => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let dora: TestUser;
  let group: string;
  let dm: string;
  let fileBytes: Buffer;
  let fileId: string;
  let avatarId: string;
  let backupDir: string;
  let sentDuringBackup = 0;
  let restoredStore: TestStore;
  let restored: ServeProcess;
  // The end-to-end encrypted private chat's MLS state, as Alice's device holds it.
  let mlsState: ClientState;
  let mlsCommits: string[];
  let secondCommit: { body: Parameters<ParleyClient['postCommit']>[0]; result: Awaited<ReturnType<ParleyClient['postCommit']>> };
  let sealed: string;
  let bobPackages: MadeKeyPackage[];
  let bobLastResort: MadeKeyPackage;
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
    // A reaction, a read position, and an invitation to someone who lets nobody add them.
    const reacted = (await alice.client.listMessages({ chatId: group })).messages[2]!;
    await bob.client.addReaction({ chatId: group, messageId: reacted.id, emoji: '👍' });
    await bob.client.markRead({ chatId: group, seq: reacted.seq });
    [dora] = await t.users('dora');
    await dora.client.updateMe({ addPolicy: 'nobody' });
    await alice.client.addMembers({ chatId: group, userIds: [dora.id] });
    avatarId = (await uploadFile(alice.client, Buffer.from('RIFF....WEBPVP8 me'), { name: 'me.webp', mimeType: 'image/webp' })).fileId;
    await alice.client.updateMe({ avatarFileId: avatarId });

    // End-to-end encryption state, after the private chat's plaintext history: identity keys,
    // devices, a device list, KeyPackages (one claimed), and the chat's MLS group with two commits.
    const aliceDevice = await e2eeDevice(alice);
    const bobDevice = await e2eeDevice(bob);
    await alice.client.publishDeviceList({ version: 1, data: b64(Buffer.from(`signed device list ${randomBytes(8).toString('hex')}`)) });
    bobPackages = await Promise.all([1, 2, 3].map(() => makeKeyPackage(bobDevice.keys, bobDevice.cert)));
    bobLastResort = await makeKeyPackage(bobDevice.keys, bobDevice.cert);
    await bob.client.uploadKeyPackages({ keyPackages: bobPackages.map((p) => p.data), lastResort: bobLastResort.data });
    const claimed = (await alice.client.claimKeyPackages({ chatId: dm, userIds: [bob.id] })).keyPackages;
    const bobKp = bobPackages.find((p) => p.data === claimed[0]!.data)!;
    const cs = await cipherSuite();
    const now = BigInt(Math.floor(Date.now() / 1000));
    const own = await generateKeyPackageWithKey(
      { credentialType: 'basic', identity: aliceDevice.cert },
      defaultCapabilities(),
      { notBefore: now - 60n, notAfter: now + 86_400n },
      [],
      aliceDevice.keys,
      cs,
    );
    const groupId = randomBytes(32);
    const c1 = await commitOf(await createGroup(groupId, own.publicPackage, own.privatePackage, [], cs), [bobKp.keyPackage]);
    const { newState: _s1, ...b1 } = c1;
    await alice.client.postCommit({
      chatId: dm,
      clientCommitId: 'c1',
      epoch: 0,
      ...b1,
      init: { groupId: b64(groupId), cipherSuite: 1 },
      addDevices: [{ userId: bob.id, deviceId: bob.session.sessionId }],
    });
    const c2 = await commitOf(c1.newState);
    const body = { chatId: dm, clientCommitId: 'c2', epoch: 1, commit: c2.commit, groupInfo: c2.groupInfo };
    secondCommit = { body, result: await alice.client.postCommit(body) };
    expect(secondCommit.result.epoch).toBe(2);
    // An encrypted message at epoch 2, as a device sends it: the PrivateMessage only.
    const app = await createApplicationMessage(c2.newState, new TextEncoder().encode('{"v":1,"text":"sealed before the backup"}'), cs);
    sealed = b64(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_private_message', privateMessage: app.privateMessage }));
    const sent = await alice.client.sendMessage({ chatId: dm, clientMessageId: 'sealed', mls: { epoch: 2, ciphertext: sealed } });
    expect(sent.kind).toBe('mls');
    mlsState = app.newState;
    mlsCommits = [c1.commit, c2.commit];

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
      // Every chat as the list shows it, and its members. The group's latest position and message
      // are the snapshot's, and so is Carol's read position there (her sends during the backup moved it).
      type Chat = (typeof chatsAfter)[number];
      const settled = (c: Chat): unknown => {
        if (c.id !== group) return c;
        const { lastSeq: _l, lastMessage: _m, unreadCount: _u, ...rest } = c;
        return u === carol ? { ...rest, readSeq: 0 } : rest;
      };
      const members = async (client: ParleyClient, chatId: string) =>
        (await client.listMembers({ chatId })).members.map((m) => (chatId === group && m.user.id === carol.id ? { ...m, readSeq: 0 } : m));
      for (const c of chatsAfter) {
        expect(settled(c)).toEqual(settled(chatsBefore.find((o) => o.id === c.id)!));
        expect(await members(after, c.id)).toEqual(await members(before, c.id));
      }
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
    expect(groupAfter.find((m) => m.reactions)?.reactions).toEqual((await allMessages(alice.client, group)).find((m) => m.reactions)?.reactions);
    expect(groupAfter.some((m) => m.reactions)).toBe(true);
    expect((await onRestored(dora.client.session!).listChatInvitations()).invitations).toEqual((await dora.client.listChatInvitations()).invitations);
    expect((await dora.client.listChatInvitations()).invitations.map((i) => i.chatId)).toEqual([group]);
    // The edit and the delete made before the backup are in it.
    const dmAfter = await allMessages(onRestored(alice.client.session!), dm);
    expect(dmAfter[0]!.text).toBe('edited before the backup');
    expect(dmAfter[1]!.deletedAt).not.toBeNull();

    const file = await onRestored(carol.client.session!).downloadFile(fileId);
    expect(Buffer.from(await file.arrayBuffer()).equals(fileBytes)).toBe(true);
    const avatar = await onRestored(bob.client.session!).downloadFile(avatarId);
    expect(await avatar.text()).toBe('RIFF....WEBPVP8 me');
  });

  it('a client reads the same E2EE state on the restored server: identity keys, devices, device lists, KeyPackages, the group and its commits', async () => {
    const manifest = JSON.parse(readFileSync(path.join(backupDir, 'manifest.json'), 'utf8'));
    expect(manifest.counts).toMatchObject({ identities: 2, devices: 2, device_lists: 1, key_packages: 3, mls_groups: 1, mls_commits: 2, mls_group_devices: 2 });
    for (const u of [alice, bob, carol]) {
      const before = u.client;
      const after = onRestored(before.session!);
      for (const of of [alice, bob]) {
        expect(await after.getIdentity({ userId: of.id })).toEqual(await before.getIdentity({ userId: of.id }));
        expect(await after.listDevices({ userId: of.id })).toEqual(await before.listDevices({ userId: of.id }));
        expect(await after.getDeviceLists({ userId: of.id })).toEqual(await before.getDeviceLists({ userId: of.id }));
      }
      expect(await deviceEvents(after)).toEqual(await deviceEvents(before));
    }
    expect((await onRestored(alice.client.session!).getDeviceLists({ userId: alice.id })).lists).toHaveLength(1);
    expect(await onRestored(alice.client.session!).getRecovery()).toEqual(await alice.client.getRecovery());
    expect(await onRestored(bob.client.session!).countKeyPackages()).toEqual({ count: 2, lastResort: true });

    // The group: its GroupInfo, and its commits in the chat's log, byte for byte, to both members.
    for (const u of [alice, bob]) {
      const before = u.client;
      const after = onRestored(before.session!);
      const info = await after.getGroupInfo({ chatId: dm });
      expect(info).toEqual(await before.getGroupInfo({ chatId: dm }));
      expect(info.epoch).toBe(2);
      const events = await mlsEvents(after, dm);
      expect(events).toEqual(await mlsEvents(before, dm));
      expect(events.map((e) => e.mls!.payload)).toEqual(mlsCommits);
    }

    // The encrypted message: the same ciphertext to both members, and no text.
    for (const u of [alice, bob]) {
      const found = (await allMessages(onRestored(u.client.session!), dm)).filter((m) => m.kind === 'mls');
      expect(found.map((m) => [m.mls?.ciphertext, m.mls?.epoch, m.text ?? ''])).toEqual([[sealed, 2, '']]);
    }

    // Claims hand out the packages the original still held, the same on both, then the last resort.
    const claims: { before: unknown[]; after: unknown[] } = { before: [], after: [] };
    for (let i = 0; i < 3; i++) {
      claims.after.push((await onRestored(alice.client.session!).claimKeyPackages({ chatId: dm, userIds: [bob.id] })).keyPackages);
      claims.before.push((await alice.client.claimKeyPackages({ chatId: dm, userIds: [bob.id] })).keyPackages);
    }
    expect(claims.after).toEqual(claims.before);
    const data = (claims.after as { data: string; lastResort: boolean }[][]).map((c) => [c[0]!.data, c[0]!.lastResort]);
    expect(data.slice(0, 2).every(([d, last]) => last === false && bobPackages.some((p) => p.data === d))).toBe(true);
    expect(data[2]).toEqual([bobLastResort.data, true]);
  });

  it('the restored group goes on: the next commit takes the next epoch and position, a retry gets the original, a stale epoch 409', async () => {
    const client = onRestored(alice.client.session!);
    expect(await client.postCommit(secondCommit.body)).toEqual(secondCommit.result);
    const stale = await fail(client.postCommit({ ...secondCommit.body, clientCommitId: 'c2-again' }));
    expect([stale.status, stale.code]).toEqual([409, 'mls_epoch_conflict']);
    const last = (await client.getChat({ chatId: dm })).lastSeq;
    const c3 = await commitOf(mlsState);
    const r = await client.postCommit({ chatId: dm, clientCommitId: 'c3', epoch: 2, commit: c3.commit, groupInfo: c3.groupInfo });
    expect([r.epoch, r.seq]).toEqual([3, last + 1]);
    expect((await mlsEvents(onRestored(bob.client.session!), dm)).map((e) => e.mls!.payload)).toEqual([...mlsCommits, c3.commit]);
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
    await refused(
      'bad-counts',
      (dir) => {
        const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
        m.counts.key_packages = -1;
        writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
      },
      /manifest\.json is incomplete/,
    );
  });

  it.runIf(bothStores)('refuses a backup of the other store kind, saying which is which', async () => {
    const other = kind === 'sqlite' ? 'postgres' : 'sqlite';
    const target = await freshStore(other);
    try {
      const r = await runParley(['restore', backupDir], target.env as Record<string, string>, 60_000);
      expect(r.code).toBe(2);
      const name = { sqlite: 'SQLite', postgres: 'PostgreSQL' };
      expect(r.stderr).toContain(`The backup is of ${name[kind]} and this configuration uses ${name[other]}`);
      expect(readdirSync((target.env as Record<string, string>).PARLEY_DATA_DIR!)).toEqual([]);
    } finally {
      await target.drop();
    }
  });

  it('restores a backup whose manifest counts fewer tables, as one made before the E2EE tables existed', async () => {
    const dir = path.join(tmp, `${kind}-fewer-counts`);
    cpSync(backupDir, dir, { recursive: true });
    const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    for (const table of ['identities', 'devices', 'device_lists', 'key_packages', 'mls_groups', 'mls_commits', 'mls_group_devices']) delete m.counts[table];
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    const target = await freshStore(kind);
    try {
      const r = await runParley(['restore', dir], target.env as Record<string, string>, 60_000);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    } finally {
      await target.drop();
    }
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

// PostgreSQL with the files in S3 (OpenStack Swift's S3 API): pg_dump of the snapshot and the files
// read from the bucket; a restore writes nothing to S3, and checks that the bucket holds every file.
describe.runIf((await stores()).includes('postgres') && swiftUnavailable() === null)('backup and restore on postgres with files in S3', () => {
  let swift: Swift;
  let s3: S3Client;
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let dm: string;
  let fileBytes: Buffer;
  let fileId: string;
  let backupDir: string;
  const targets: TestStore[] = [];

  beforeAll(async () => {
    swift = await startSwift();
    s3 = s3Client(swift, S3Client);
    t = await startTestServer('postgres', { ...swift.env, PARLEY_WRITE_RATE: '100000/10s' });
    [alice, bob] = await t.users('alice', 'bob');
    dm = (await alice.client.createPrivateChat({ userId: bob.id })).id;
    fileBytes = randomBytes(6 * 1024 * 1024 + 5);
    fileId = (await uploadFile(alice.client, fileBytes, { name: 'big.bin', mimeType: 'application/octet-stream' })).fileId;
    await alice.client.sendMessage({
      chatId: dm,
      clientMessageId: 'f',
      text: 'in the bucket',
      attachments: [{ fileId, name: 'big.bin', mimeType: 'application/octet-stream' }],
    });
    backupDir = path.join(tmp, 'backup-postgres-s3');
  }, 180_000);

  afterAll(async () => {
    for (const target of targets) await target.drop();
    await t?.close();
    s3?.destroy();
    await swift?.stop();
  });

  /** A fresh database, its files in `bucket` of the same S3 service. */
  const target = async (bucket: string) => {
    const store = await freshStore('postgres');
    targets.push(store);
    return { ...(store.env as Record<string, string>), ...swift.env, PARLEY_S3_BUCKET: bucket, NODE_NO_WARNINGS: '1' };
  };

  it('backs up with pg_dump and copies the files from the bucket; a restore into a bucket without them is refused, then restores once they are copied in', async () => {
    // The AWS SDK warns on stderr about the Node.js version where it is older than it likes.
    const made = await runParley(['backup', backupDir], { ...(t.store.env as Record<string, string>), ...swift.env, NODE_NO_WARNINGS: '1' }, 60_000);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/Files: 1 \(6\.0 MiB\) from the S3 bucket/);
    const manifest = JSON.parse(readFileSync(path.join(backupDir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ store: 'postgres', database: { file: 'parley.pgdump' }, blobs: { from: 's3' } });
    expect(readFileSync(path.join(backupDir, 'blobs', fileId)).equals(fileBytes)).toBe(true);

    // Another bucket, empty: refused before anything is written, saying what to copy where.
    await s3.send(new CreateBucketCommand({ Bucket: 'restored' }));
    const env = await target('restored');
    const refused = await runParley(['restore', backupDir], env, 60_000);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`1 of the backup's 1 files are not in the bucket restored (${fileId}): parley restore does not write to S3`);
    expect(refused.stderr).toContain('aws s3 cp --recursive');
    // A different object under the key is refused too.
    await s3.send(new PutObjectCommand({ Bucket: 'restored', Key: fileId, Body: randomBytes(100) }));
    const differs = await runParley(['restore', backupDir], env, 60_000);
    expect(differs.code).toBe(2);
    expect(differs.stderr).toContain(`File ${fileId} in the bucket restored differs from the backup's (100 bytes`);

    // The operator copies blobs/ into the bucket; the restore (into the database left empty) goes through.
    await s3.send(new PutObjectCommand({ Bucket: 'restored', Key: fileId, Body: readFileSync(path.join(backupDir, 'blobs', fileId)) }));
    const r = await runParley(['restore', backupDir], env, 60_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 files \(found in the bucket restored\)/);
    const server = await spawnServe({ ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' }, 30_000);
    try {
      const client = new ParleyClient({ baseUrl: server.url, session: bob.client.session! });
      expect((await client.listMessages({ chatId: dm })).messages).toEqual((await bob.client.listMessages({ chatId: dm })).messages);
      const file = await client.downloadFile(fileId);
      expect(Buffer.from(await file.arrayBuffer()).equals(fileBytes)).toBe(true);
    } finally {
      server.kill();
      await server.exited;
    }
  }, 180_000);
});
