import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/lib/ids.ts';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { chatEvents, rawSocket, settle, type RawSocket } from './_ws.ts';
import { eventually, realtimeFor } from './_realtime.ts';

interface Answer {
  status: number;
  body: unknown;
}

/** Every chat and message operation that names a chat, as raw HTTP calls (method, path, body). */
function operations(chatId: string, ids: { messageId: string; userId: string }) {
  const c = encodeURIComponent(chatId);
  return [
    ['getChat', 'GET', `/chats/${c}`],
    ['updateChat title', 'PATCH', `/chats/${c}`, { title: 'Taken over' }],
    ['updateChat muted', 'PATCH', `/chats/${c}`, { muted: true }],
    ['deleteChat', 'DELETE', `/chats/${c}`],
    ['deleteChat forEveryone', 'DELETE', `/chats/${c}?forEveryone=true`],
    ['leaveChat', 'POST', `/chats/${c}/leave`],
    ['listMembers', 'GET', `/chats/${c}/members`],
    ['addMembers', 'POST', `/chats/${c}/members`, { userIds: [ids.userId] }],
    ['removeMember', 'DELETE', `/chats/${c}/members/${ids.userId}`],
    ['setMemberRole', 'PUT', `/chats/${c}/members/${ids.userId}/role`, { role: 'admin' }],
    ['transferOwnership', 'POST', `/chats/${c}/owner`, { userId: ids.userId }],
    ['sendMessage', 'POST', `/chats/${c}/messages`, { text: 'let me in', clientMessageId: 'intruder' }],
    ['sendMessage reply', 'POST', `/chats/${c}/messages`, { text: 'let me in', clientMessageId: 'intruder2', replyToId: ids.messageId }],
    ['listMessages', 'GET', `/chats/${c}/messages`],
    ['listMessages after', 'GET', `/chats/${c}/messages?after=0&limit=10`],
    ['editMessage', 'PATCH', `/chats/${c}/messages/${ids.messageId}`, { text: 'defaced' }],
    ['deleteMessage', 'DELETE', `/chats/${c}/messages/${ids.messageId}`],
    ['markRead', 'POST', `/chats/${c}/read`, { seq: 1 }],
  ] as const;
}

async function call(t: TestServer, user: TestUser, method: string, path: string, body?: object): Promise<Answer> {
  const res = await fetch(`${t.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${user.client.session!.accessToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/** The answer with the chat id taken out, so an existing and a missing chat can be compared. */
function anonymous(value: unknown, chatId: string): unknown {
  return JSON.parse(JSON.stringify(value).split(chatId).join('<chat>'));
}

describe.each(await stores())('access on %s', (kind) => {
  let t: TestServer;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;

  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_LOGIN_LIMIT: '1000/60s' });
  });
  afterAll(async () => t?.close());

  /** What the chat looks like to a member: positions, members, messages; unchanged if nothing was written. */
  async function snapshot(member: TestUser, chatId: string) {
    const chat = await member.client.getChat({ chatId });
    const members = await member.client.listMembers({ chatId });
    const messages = await member.client.listMessages({ chatId });
    return { lastSeq: chat.lastSeq, title: chat.title, ownerId: chat.ownerId, members, messages };
  }

  it('answers a non-member exactly as for a missing chat, on every operation, and writes nothing', async () => {
    const [owner, member, outsider] = await t.users(name('owner'), name('member'), name('outsider'));
    const group = await owner.client.createGroup({ title: 'Secret', memberIds: [member.id] });
    const channel = await owner.client.createChannel({ title: 'Secret news', memberIds: [member.id] });
    const priv = await owner.client.createPrivateChat({ userId: member.id });
    const ownerSelf = (await owner.client.listChats()).chats.find((c) => c.kind === 'self')!;
    const deleted = await owner.client.createGroup({ title: 'Gone', memberIds: [member.id, outsider.id] });
    await owner.client.sendMessage({ chatId: deleted.id, text: 'soon gone', clientMessageId: 'd1' });
    await owner.client.deleteChat({ chatId: deleted.id });

    const chats = [group, channel, priv, ownerSelf];
    const messages: Record<string, string> = {};
    for (const c of chats) messages[c.id] = (await owner.client.sendMessage({ chatId: c.id, text: 'members only', clientMessageId: 'm1' })).id;
    const before = await Promise.all(chats.map((c) => snapshot(owner, c.id)));

    const missing = newId();
    for (const c of [...chats, deleted]) {
      const ids = { messageId: messages[c.id] ?? newId(), userId: member.id };
      const existing = operations(c.id, ids);
      const absent = operations(missing, ids);
      for (let i = 0; i < existing.length; i++) {
        const [op, method, path, body] = existing[i]!;
        const a = await call(t, outsider, method, path, body);
        const b = await call(t, outsider, absent[i]![1], absent[i]![2], absent[i]![3]);
        expect(a.status, `${op} on a ${c.kind} (${c.title})`).toBe(404);
        expect(a.body, `${op} on a ${c.kind}`).toMatchObject({ error: { code: 'not_found' } });
        expect(anonymous(a, c.id), `${op} on a ${c.kind} answers like a missing chat`).toEqual(anonymous(b, missing));
      }
    }

    // Nothing changed, and the members heard nothing.
    expect(await Promise.all(chats.map((c) => snapshot(owner, c.id)))).toEqual(before);
    // The outsider's sync does not reveal the chats either, even when it names them.
    const cursor = Object.fromEntries(chats.map((c) => [c.id, 0]));
    const sync = await outsider.client.getChanges({ userSeq: 0, chats: cursor });
    expect(sync.events.filter((e) => e.chatId && chats.some((c) => c.id === e.chatId))).toEqual([]);
    for (const c of chats) expect(sync.chats[c.id]).toBeUndefined();
  });

  it('answers socket requests of a non-member exactly as for a missing chat', async () => {
    const [owner, outsider] = await t.users(name('sowner'), name('soutsider'));
    const group = await owner.client.createGroup({ title: 'Sockets only' });
    const ownerSocket = await rawSocket(t, owner);
    const s = await rawSocket(t, outsider);
    const missing = newId();

    async function both(frame: (chatId: string) => { type: string; [k: string]: unknown }) {
      const a = await s.request(frame(group.id));
      const b = await s.request(frame(missing));
      expect(a).toMatchObject({ type: 'error', error: { code: 'not_found' } });
      expect(anonymous({ ...a, id: 'x' }, group.id)).toEqual(anonymous({ ...b, id: 'x' }, missing));
    }
    await both((chatId) => ({ type: 'send', chatId, text: 'let me in', clientMessageId: 'ws1' }));
    await both((chatId) => ({ type: 'read', chatId, seq: 1 }));

    // Typing frames carry no id: the error comes back without one, alike for both.
    s.send({ type: 'typing', chatId: group.id });
    const e1 = await s.waitFor((f) => f.type === 'error' && f.id === undefined);
    s.send({ type: 'typing', chatId: missing });
    await s.waitFor((f) => f.type === 'error' && f.id === undefined && f !== e1);
    const errors = s.frames.filter((f) => f.type === 'error' && f.id === undefined);
    expect(errors).toHaveLength(2);
    expect(anonymous(errors[0], group.id)).toEqual(anonymous(errors[1], missing));
    expect(errors[0]).toMatchObject({ error: { code: 'not_found' } });

    await settle();
    expect(ownerSocket.frames.filter((f) => f.type !== 'hello' && f.type !== 'presence')).toEqual([]);
    expect((await owner.client.getChat({ chatId: group.id })).lastSeq).toBe(group.lastSeq);
    ownerSocket.close();
    s.close();
  });

  it('refuses posts by channel subscribers over HTTP and the socket, writing nothing', async () => {
    const [owner, sub] = await t.users(name('cowner'), name('csub'));
    const channel = await owner.client.createChannel({ title: 'Read only', memberIds: [sub.id] });
    const before = await snapshot(owner, channel.id);
    const http = await sub.client.sendMessage({ chatId: channel.id, text: 'hello?', clientMessageId: 'x1' }).catch((e) => e);
    expect(http).toMatchObject({ status: 403, code: 'cannot_post' });
    const s = await rawSocket(t, sub);
    expect(await s.request({ type: 'send', chatId: channel.id, text: 'hello?', clientMessageId: 'x2' })).toMatchObject({
      type: 'error',
      error: { code: 'cannot_post' },
    });
    // Subscribers still read and mark read.
    expect(await s.request({ type: 'read', chatId: channel.id, seq: 0 })).toMatchObject({ type: 'ack', readSeq: 0 });
    expect(await snapshot(owner, channel.id)).toEqual(before);
    s.close();
  });

  it('stops live delivery to a removed member at once, and to one who left', async () => {
    const [owner, stays, removed, leaver] = await t.users(name('rowner'), name('rstays'), name('rremoved'), name('rleaver'));
    const group = await owner.client.createGroup({ title: 'Shrinking', memberIds: [stays.id, removed.id, leaver.id] });
    const sockets: Record<string, RawSocket> = {};
    for (const u of [owner, stays, removed, leaver]) sockets[u.username] = await rawSocket(t, u);
    const removedRt = realtimeFor(removed);
    await removedRt.rt.connect();
    expect(removedRt.rt.cursor.chats[group.id]).toBeDefined();

    const first = await owner.client.sendMessage({ chatId: group.id, text: 'everyone', clientMessageId: 'r1' });
    for (const s of Object.values(sockets)) await s.waitFor((f) => f.event?.message?.id === first.id);

    await owner.client.removeMember({ chatId: group.id, userId: removed.id });
    await leaver.client.leaveChat({ chatId: group.id });
    // They hear of their own removal, and nothing after it.
    const gone = await sockets[removed.username]!.waitFor((f) => f.event?.type === 'member.removed');
    expect(gone.event).toMatchObject({ chatId: group.id, member: { userId: removed.id, role: null } });
    await sockets[removed.username]!.waitFor((f) => f.event?.type === 'chat.left' && f.event.chatId === group.id);
    await sockets[leaver.username]!.waitFor((f) => f.event?.type === 'chat.left' && f.event.chatId === group.id);
    await eventually(() => removedRt.rt.cursor.chats[group.id] === undefined, 5000, 'the SDK to forget the chat');

    const after = await owner.client.sendMessage({ chatId: group.id, text: 'just us now', clientMessageId: 'r2' });
    await owner.client.editMessage({ chatId: group.id, messageId: first.id, text: 'everyone (edited)' });
    sockets[owner.username]!.send({ type: 'typing', chatId: group.id });
    await sockets[stays.username]!.waitFor((f) => f.event?.type === 'message.edited');
    await sockets[stays.username]!.waitFor((f) => f.type === 'typing');
    expect(chatEvents(sockets[stays.username]!, group.id).map((e) => e.message?.id)).toContain(after.id);
    await settle();
    for (const u of [removed, leaver]) {
      const seen = chatEvents(sockets[u.username]!, group.id);
      const removalSeq = Math.max(...seen.map((e) => e.seq));
      expect(seen.some((e) => e.message?.id === after.id || e.type === 'message.edited')).toBe(false);
      expect(sockets[u.username]!.frames.some((f) => f.type === 'typing')).toBe(false);
      // Nor does a sync with an old cursor bring anything of the chat back.
      const sync = await u.client.getChanges({ userSeq: 0, chats: { [group.id]: removalSeq - 1 } });
      expect(sync.events.filter((e) => e.log === 'chat' && e.chatId === group.id)).toEqual([]);
      expect(await u.client.listMessages({ chatId: group.id }).catch((e) => e.status)).toBe(404);
    }
    expect(removedRt.events.some((e) => e.log === 'chat' && e.message?.id === after.id)).toBe(false);
    removedRt.rt.close();
    for (const s of Object.values(sockets)) s.close();
  });
});
