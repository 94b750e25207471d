import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ParleyClient, type ParleyError } from '@parley/sdk';
import { E2eeDevice, fromBase64, MlsGroup, toBase64 } from '@parley/sdk/e2ee';
import { runCleanup } from '../src/modules/cleanup/cleanup.ts';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';

// Every way a session ends ends its device in each encrypted chat: the server takes no application message into
// a group that still holds it until a member commits its removal, the sender's engine makes that commit and sends,
// and the ended device's last state, even forced back to active, reads nothing sent after.

const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e as ParleyError,
  );

const REFRESH_TTL_S = 3600;
const MAX_SESSIONS = 3;

interface Pair {
  alice: TestUser;
  bob: TestUser;
  a1: E2eeDevice;
  a2: { client: ParleyClient; device: E2eeDevice };
  b1: E2eeDevice;
  chatId: string;
}

describe.each(await stores())('E2EE device ends with its session on %s', (kind) => {
  let t: TestServer;
  let offset = 0;
  let n = 0;
  let admin: ParleyClient | undefined;
  const name = (base: string) => `${base}${++n}`;
  beforeAll(async () => {
    t = await startTestServer(
      kind,
      {
        PARLEY_WRITE_RATE: '100000/10s',
        PARLEY_LOGIN_LIMIT: '1000/60s',
        PARLEY_MESSAGE_RATE: '100000/10s',
        PARLEY_MAX_SESSIONS: String(MAX_SESSIONS),
        PARLEY_REFRESH_TOKEN_TTL: String(REFRESH_TTL_S),
      },
      { now: () => Date.now() + offset },
    );
  });
  afterAll(async () => t?.close());

  async function adminClient(): Promise<ParleyClient> {
    if (admin) return admin;
    const client = t.client();
    const username = name('root');
    await client.register({ inviteCode: await t.invite({ admin: true }), username, password: 'root password 1', displayName: 'Root' });
    await client.login({ username, password: 'root password 1', deviceName: 'root' });
    return (admin = client);
  }

  /** Alice with two devices, Bob with one, and their private chat's group made by Alice's first device. */
  async function pair(): Promise<Pair> {
    const alice = await t.user(name('alice'));
    const bob = await t.user(name('bob'));
    const a1 = await E2eeDevice.setUp(alice.client);
    const client = t.client();
    await client.login({ username: alice.username, password: alice.password, deviceName: 'alice-second' });
    const device = await E2eeDevice.setUp(client, { aik: a1.aik });
    await a1.approve(device.deviceId);
    await device.activate();
    const b1 = await E2eeDevice.setUp(bob.client);
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    await a1.chat(chat.id).start();
    await Promise.all([a1, device, b1].map((d) => d.sync()));
    return { alice, bob, a1, a2: { client, device }, b1, chatId: chat.id };
  }

  /** Moves the clock past the second device's refresh token, the other sessions of the two having refreshed late in their term. */
  async function outliveSecondDevice({ alice, bob }: Pair): Promise<void> {
    offset += (REFRESH_TTL_S - 600) * 1000;
    await Promise.all([alice.client.refresh(), bob.client.refresh()]);
    offset += 1200 * 1000;
  }

  /** Each way a session ends, and the devices it ends. */
  const ways: { way: string; end: (p: Pair) => Promise<E2eeDevice[]> }[] = [
    {
      way: 'logout',
      end: async ({ a2 }) => {
        await a2.client.logout();
        return [a2.device];
      },
    },
    {
      way: 'terminated from another device',
      end: async ({ alice, a2 }) => {
        await alice.client.terminateSession({ sessionId: a2.device.deviceId });
        return [a2.device];
      },
    },
    {
      way: 'evicted at the session limit',
      end: async ({ alice, a1 }) => {
        // Two devices and one more sign-in fill the limit; the next sign-in pushes out the oldest, the first device.
        for (let i = 0; i < MAX_SESSIONS - 1; i++) await t.client().login({ username: alice.username, password: alice.password, deviceName: `more ${i}` });
        return [a1];
      },
    },
    {
      way: 'revoked for refresh-token reuse',
      end: async ({ a2 }) => {
        const old = a2.client.session!.refreshToken;
        await a2.client.refresh();
        expect((await fail(t.client().refreshSession({ refreshToken: old }))).code).toBe('refresh_token_reused');
        return [a2.device];
      },
    },
    {
      way: 'expired and cleaned up',
      end: async (p) => {
        await outliveSecondDevice(p);
        expect((await runCleanup(t.server.ctx)).sessions).toBeGreaterThanOrEqual(1);
        expect((await fail(p.a2.client.getCurrentSession())).status).toBe(401);
        return [p.a2.device];
      },
    },
    {
      way: 'expired, its refresh token presented',
      end: async (p) => {
        await outliveSecondDevice(p);
        expect((await fail(t.client().refreshSession({ refreshToken: p.a2.client.session!.refreshToken }))).code).toBe('refresh_token_invalid');
        return [p.a2.device];
      },
    },
    {
      way: 'account disabled by an admin',
      end: async ({ alice, a1, a2 }) => {
        await (await adminClient()).disableAccount({ userId: alice.id });
        return [a1, a2.device];
      },
    },
    {
      way: 'account deleted',
      end: async ({ alice, bob, a1, a2 }) => {
        await alice.client.deleteAccount({ password: alice.password });
        // Its devices are listed as none, not as a missing account, so that the members can tell to remove them.
        expect(await bob.client.listDevices({ userId: alice.id })).toEqual({ devices: [], deviceList: null });
        return [a1, a2.device];
      },
    },
  ];

  it.each(ways)('$way: no message until a member commits the removal, and the ended device reads nothing after', async ({ way, end }) => {
    const p = await pair();
    const { bob, b1, chatId } = p;
    const bobChat = b1.chat(chatId);
    const all = [p.a1, p.a2.device, b1];
    for (const d of all) expect(d.chat(chatId).group?.members()).toHaveLength(3);

    const ended = await end(p);
    const endedIds = ended.map((d) => d.deviceId);
    const kept = ended.map((d) => ({ device: d, state: d.chat(chatId).group! }));
    for (const id of endedIds) {
      const row = await t.server.ctx.db.kysely.selectFrom('devices').select('status').where('id', '=', id).executeTakeFirstOrThrow();
      expect(row.status, `device ${id} after ${way}`).toBe('ended');
    }

    // A send made by hand at the current epoch is refused, and writes nothing.
    const before = (await bob.client.getChat({ chatId })).lastSeq;
    const { group, message } = await b1.mls.encrypt(bobChat.group!, new TextEncoder().encode('{"v":1,"text":"too soon"}'));
    bobChat.group = group;
    const refused = await fail(
      bob.client.sendMessage({ chatId, clientMessageId: 'too-soon', mls: { epoch: Number(group.epoch), ciphertext: toBase64(message) } }),
    );
    expect([refused.status, refused.code]).toEqual([409, 'mls_commit_required']);
    for (const id of endedIds) expect(refused.message).toContain(id);
    expect((await bob.client.getChat({ chatId })).lastSeq).toBe(before);
    const written = await t.server.ctx.db.kysely.selectFrom('messages').select('id').where('chat_id', '=', chatId).execute();
    expect(written).toEqual([]);

    // Bob's engine commits the removal, then sends.
    const text = `after the session ended: ${way}`;
    const sent = await bobChat.send(text);
    const { events } = await bob.client.getChanges({ userSeq: 0, chats: { [chatId]: before } });
    const log = events.filter((e) => e.log === 'chat' && e.chatId === chatId);
    expect(log.map((e) => e.type)).toEqual(['mls.commit', 'message.created']);
    const removal = log[0]!.log === 'chat' ? log[0]!.mls! : undefined;
    expect(removal?.removedDevices?.map((d) => d.deviceId).sort()).toEqual([...endedIds].sort());
    const left = all.map((d) => d.deviceId).filter((id) => !endedIds.includes(id));
    expect(
      bobChat
        .group!.members()
        .map((m) => m.deviceId)
        .sort(),
    ).toEqual(left.sort());

    // A device that stays reads it.
    const stays = all.filter((d) => d !== b1 && !ended.includes(d));
    for (const d of stays) {
      await d.sync();
      expect(
        d
          .chat(chatId)
          .timeline()
          .map((m) => m.text),
      ).toEqual([text]);
    }

    // The ended device's last state: processing its removal leaves it inactive; forced back to active, or used
    // as it was before the removal, it cannot decrypt the next message.
    for (const { device, state } of kept) {
      const processed = await device.mls.process(state, fromBase64(removal!.payload));
      expect(processed.group.active).toBe(false);
      const forced = new MlsGroup({ ...processed.group.state, groupActiveState: { kind: 'active' } });
      await expect(device.mls.process(forced, fromBase64(sent.mls!.ciphertext))).rejects.toThrow();
      await expect(device.mls.process(state, fromBase64(sent.mls!.ciphertext))).rejects.toThrow();
    }
  });
});
