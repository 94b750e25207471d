import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { rawSocket, settle } from './_ws.ts';

const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e,
  );

describe.each(await stores())('chats on %s', (kind) => {
  let t: TestServer;
  let n = 0;
  /** Unique user names across the tests of one server. */
  const name = (base: string) => `${base}${++n}`;

  beforeAll(async () => {
    // A small group limit shows that channels are not bound by it.
    t = await startTestServer(kind, { PARLEY_MAX_GROUP_MEMBERS: '4', PARLEY_LOGIN_LIMIT: '1000/60s' });
  });
  afterAll(async () => t?.close());

  it('gives every user exactly one saved messages chat from registration', async () => {
    const u = await t.user(name('saver'));
    const { chats } = await u.client.listChats();
    expect(chats).toHaveLength(1);
    expect(chats[0]).toMatchObject({ kind: 'self', title: 'Saved messages', role: 'owner', memberCount: 1, lastMessage: null, unreadCount: 0, muted: false });
    const self = chats[0]!;
    const m = await u.client.sendMessage({ chatId: self.id, text: 'note to self', clientMessageId: 'n1' });
    expect(m).toMatchObject({ seq: 1, senderId: u.id, text: 'note to self' });
    const again = await u.client.listChats();
    expect(again.chats).toHaveLength(1);
    expect(again.chats[0]).toMatchObject({ id: self.id, lastSeq: 1, lastMessage: { id: m.id }, unreadCount: 0 });
    // It cannot be left or deleted, and nobody else sees it.
    expect(await fail(u.client.deleteChat({ chatId: self.id }))).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(await fail(u.client.leaveChat({ chatId: self.id }))).toMatchObject({ status: 400, code: 'invalid_request' });
    const other = await t.user(name('peeker'));
    expect(await fail(other.client.getChat({ chatId: self.id }))).toMatchObject({ status: 404, code: 'not_found' });
    expect((await other.client.listChats()).chats.map((c) => c.kind)).toEqual(['self']);
  });

  describe('a private chat', () => {
    /** Two new people and the private chat Alice opened with Bob. */
    async function privateChat() {
      const [alice, bob] = await t.users(name('alice'), name('bob'));
      const chat = await alice.client.createPrivateChat({ userId: bob.id });
      return { alice, bob, chat };
    }

    it('shows the other person as its title and peer', async () => {
      const { bob, chat } = await privateChat();
      expect(chat).toMatchObject({
        kind: 'private',
        title: bob.username[0]!.toUpperCase() + bob.username.slice(1),
        role: 'member',
        ownerId: null,
        memberCount: 2,
        lastMessage: null,
        unreadCount: 0,
        muted: false,
      });
      expect(chat.peer).toEqual({ id: bob.id, username: bob.username, displayName: chat.title, deleted: false, avatarFileId: null });
    });

    it('is one chat per pair, whichever side opens it again', async () => {
      const { alice, bob, chat } = await privateChat();
      expect((await alice.client.createPrivateChat({ userId: bob.id })).id).toBe(chat.id);
      const fromBob = await bob.client.createPrivateChat({ userId: alice.id });
      expect(fromBob).toMatchObject({ id: chat.id, peer: { id: alice.id }, role: 'member' });
      expect(await bob.client.getChat({ chatId: chat.id })).toEqual(fromBob);
    });

    it("counts the other side's messages as unread, never my own", async () => {
      const { alice, bob, chat } = await privateChat();
      await alice.client.sendMessage({ chatId: chat.id, text: 'hi', clientMessageId: 'a1' });
      const m2 = await alice.client.sendMessage({ chatId: chat.id, text: 'are you there?', clientMessageId: 'a2' });
      const bobs = (await bob.client.listChats()).chats;
      expect(bobs.map((c) => c.kind)).toEqual(['private', 'self']);
      expect(bobs[0]).toMatchObject({ id: chat.id, lastSeq: 2, lastMessage: { id: m2.id, text: 'are you there?' }, readSeq: 0, unreadCount: 2 });
      expect((await alice.client.getChat({ chatId: chat.id })).unreadCount).toBe(0);
    });

    it('moves a read position forward only, up to the last message, and shows it to the sender', async () => {
      const { alice, bob, chat } = await privateChat();
      const m1 = await alice.client.sendMessage({ chatId: chat.id, text: 'hi', clientMessageId: 'a1' });
      const m2 = await alice.client.sendMessage({ chatId: chat.id, text: 'are you there?', clientMessageId: 'a2' });
      expect(await bob.client.markRead({ chatId: chat.id, seq: m1.seq })).toEqual({ readSeq: 1, unreadCount: 1 });
      expect(await bob.client.markRead({ chatId: chat.id, seq: 0 })).toEqual({ readSeq: 1, unreadCount: 1 });
      // A read position stops at the last message: what comes after it (read receipts) is not unread.
      expect(await bob.client.markRead({ chatId: chat.id, seq: 99 })).toEqual({ readSeq: m2.seq, unreadCount: 0 });
      const members = (await alice.client.listMembers({ chatId: chat.id })).members;
      expect(members.find((m) => m.user.id === bob.id)).toMatchObject({ role: 'member', readSeq: m2.seq });
    });

    it('records nothing when both readers mark read again at the end', async () => {
      const { alice, bob, chat } = await privateChat();
      await alice.client.sendMessage({ chatId: chat.id, text: 'hi', clientMessageId: 'a1' });
      await bob.client.markRead({ chatId: chat.id, seq: 99 });
      // Two readers marking the chat read up to its end do not set each other off.
      await alice.client.markRead({ chatId: chat.id, seq: 99 });
      const settled = (await bob.client.getChat({ chatId: chat.id })).lastSeq;
      await bob.client.markRead({ chatId: chat.id, seq: settled });
      await alice.client.markRead({ chatId: chat.id, seq: settled });
      expect((await bob.client.getChat({ chatId: chat.id })).lastSeq).toBe(settled);
    });

    it('is muted for one side only', async () => {
      const { alice, bob, chat } = await privateChat();
      expect(await bob.client.updateChat({ chatId: chat.id, muted: true })).toMatchObject({ muted: true });
      expect((await bob.client.listChats()).chats[0]).toMatchObject({ id: chat.id, muted: true });
      expect((await alice.client.getChat({ chatId: chat.id })).muted).toBe(false);
    });

    it('has no title to change', async () => {
      const { alice, chat } = await privateChat();
      expect(await fail(alice.client.updateChat({ chatId: chat.id, title: 'Renamed' }))).toMatchObject({ status: 400, code: 'invalid_request' });
    });

    it('cannot be opened with oneself or an unknown user', async () => {
      const { alice } = await privateChat();
      expect(await fail(alice.client.createPrivateChat({ userId: alice.id }))).toMatchObject({ status: 400, code: 'invalid_request' });
      expect(await fail(alice.client.createPrivateChat({ userId: 'no_such_user' }))).toMatchObject({ status: 404, code: 'not_found' });
    });
  });

  it('lists chats by latest activity', async () => {
    const me = await t.user(name('busy'));
    const a = await t.user(name('pal'));
    const b = await t.user(name('pal'));
    const ca = await me.client.createPrivateChat({ userId: a.id });
    const cb = await me.client.createPrivateChat({ userId: b.id });
    await a.client.sendMessage({ chatId: ca.id, text: 'first', clientMessageId: 'x' });
    await new Promise((r) => setTimeout(r, 5));
    await b.client.sendMessage({ chatId: cb.id, text: 'second', clientMessageId: 'x' });
    expect((await me.client.listChats()).chats.slice(0, 2).map((c) => c.id)).toEqual([cb.id, ca.id]);
    await new Promise((r) => setTimeout(r, 5));
    await a.client.sendMessage({ chatId: ca.id, text: 'third', clientMessageId: 'y' });
    expect((await me.client.listChats()).chats.slice(0, 2).map((c) => c.id)).toEqual([ca.id, cb.id]);
  });

  describe('a group', () => {
    /** A new group of an owner and two plain members, Ann and Ben, and two people outside it. */
    async function group() {
      const [owner, ann, ben, cat, dan] = await t.users(name('owner'), name('ann'), name('ben'), name('cat'), name('dan'));
      const chat = await owner.client.createGroup({ title: '  Climbing  ', memberIds: [ann.id, ben.id] });
      const roles = async () => Object.fromEntries((await owner.client.listMembers({ chatId: chat.id })).members.map((m) => [m.user.id, m.role]));
      return { owner, ann, ben, cat, dan, chat, roles };
    }

    it('is created with a trimmed title, its creator the owner and the others members', async () => {
      const { owner, ann, ben, chat, roles } = await group();
      expect(chat).toMatchObject({ kind: 'group', title: 'Climbing', role: 'owner', ownerId: owner.id, memberCount: 3 });
      expect(await ann.client.getChat({ chatId: chat.id })).toMatchObject({ role: 'member', title: 'Climbing' });
      expect(await roles()).toEqual({ [owner.id]: 'owner', [ann.id]: 'member', [ben.id]: 'member' });
    });

    it('keeps plain members from adding, removing, renaming or changing roles', async () => {
      const { ann, ben, cat, chat } = await group();
      expect(await fail(ann.client.addMembers({ chatId: chat.id, userIds: [cat.id] }))).toMatchObject({ status: 403, code: 'forbidden' });
      expect(await fail(ann.client.removeMember({ chatId: chat.id, userId: ben.id }))).toMatchObject({ status: 403, code: 'forbidden' });
      expect(await fail(ann.client.updateChat({ chatId: chat.id, title: 'Mine' }))).toMatchObject({ status: 403, code: 'forbidden' });
      expect(await fail(ann.client.setMemberRole({ chatId: chat.id, userId: ben.id, role: 'admin' }))).toMatchObject({ status: 403, code: 'forbidden' });
    });

    it('lets an admin the owner made add and remove plain members and rename it', async () => {
      const { owner, ann, cat, chat } = await group();
      expect(await owner.client.setMemberRole({ chatId: chat.id, userId: ann.id, role: 'admin' })).toMatchObject({ user: { id: ann.id }, role: 'admin' });
      const added = await ann.client.addMembers({ chatId: chat.id, userIds: [cat.id] });
      expect(added.members).toMatchObject([{ user: { id: cat.id }, role: 'member' }]);
      expect(await fail(ann.client.addMembers({ chatId: chat.id, userIds: [cat.id] }))).toMatchObject({ status: 409, code: 'already_member' });
      expect(await fail(ann.client.addMembers({ chatId: chat.id, userIds: ['nobody_at_all'] }))).toMatchObject({ status: 404, code: 'not_found' });
      expect(await ann.client.updateChat({ chatId: chat.id, title: 'Bouldering' })).toMatchObject({ title: 'Bouldering' });
      expect(await cat.client.getChat({ chatId: chat.id })).toMatchObject({ title: 'Bouldering', role: 'member', memberCount: 4 });
      await ann.client.removeMember({ chatId: chat.id, userId: cat.id });
      expect(await fail(cat.client.getChat({ chatId: chat.id }))).toMatchObject({ status: 404, code: 'not_found' });
    });

    it('keeps an admin from removing the owner or changing roles', async () => {
      const { owner, ann, ben, chat } = await group();
      await owner.client.setMemberRole({ chatId: chat.id, userId: ann.id, role: 'admin' });
      expect(await fail(ann.client.removeMember({ chatId: chat.id, userId: owner.id }))).toMatchObject({ status: 403, code: 'forbidden' });
      expect(await fail(ann.client.setMemberRole({ chatId: chat.id, userId: ben.id, role: 'admin' }))).toMatchObject({ status: 403, code: 'forbidden' });
    });

    it('answers 404 to removing someone who is not a member', async () => {
      const { owner, chat } = await group();
      expect(await fail(owner.client.removeMember({ chatId: chat.id, userId: 'nobody_at_all' }))).toMatchObject({ status: 404 });
    });

    it('lets a member leave, but not the owner', async () => {
      const { owner, ben, chat } = await group();
      await ben.client.leaveChat({ chatId: chat.id });
      expect((await ben.client.listChats()).chats.map((c) => c.id)).not.toContain(chat.id);
      expect(await fail(owner.client.leaveChat({ chatId: chat.id }))).toMatchObject({ status: 400, code: 'invalid_request' });
    });

    it('is handed over by the owner only, who stays as an admin that cannot delete it and may then leave', async () => {
      const { owner, ann, ben, chat, roles } = await group();
      await owner.client.setMemberRole({ chatId: chat.id, userId: ann.id, role: 'admin' });
      await ben.client.leaveChat({ chatId: chat.id });
      expect(await fail(ann.client.transferOwnership({ chatId: chat.id, userId: ann.id }))).toMatchObject({ status: 403, code: 'forbidden' });
      const handed = await owner.client.transferOwnership({ chatId: chat.id, userId: ann.id });
      expect(handed).toMatchObject({ ownerId: ann.id, role: 'admin' });
      expect(await roles()).toEqual({ [owner.id]: 'admin', [ann.id]: 'owner' });
      expect(await fail(owner.client.deleteChat({ chatId: chat.id }))).toMatchObject({ status: 403, code: 'forbidden' });
      await owner.client.leaveChat({ chatId: chat.id });
      expect(await roles().catch((e) => e.status)).toBe(404);
    });

    it('is deleted by its owner for every member, whose personal logs say it ended', async () => {
      const { owner, ann, dan, chat } = await group();
      await owner.client.transferOwnership({ chatId: chat.id, userId: ann.id });
      await ann.client.addMembers({ chatId: chat.id, userIds: [dan.id] });
      await ann.client.sendMessage({ chatId: chat.id, text: 'last words', clientMessageId: 'z' });
      await ann.client.deleteChat({ chatId: chat.id });
      for (const u of [ann, dan]) {
        expect(await fail(u.client.getChat({ chatId: chat.id }))).toMatchObject({ status: 404, code: 'not_found' });
        expect(await fail(u.client.listMessages({ chatId: chat.id }))).toMatchObject({ status: 404, code: 'not_found' });
        expect((await u.client.listChats()).chats.map((c) => c.id)).not.toContain(chat.id);
      }
      const changes = await dan.client.getChanges({ userSeq: 0 });
      expect(changes.events.filter((e) => e.log === 'user').map((e) => e.type)).toEqual(['chat.joined', 'chat.deleted']);
      expect(changes.chats[chat.id]).toBeUndefined();
    });

    it('ends when its last member leaves', async () => {
      const solo = await t.user(name('solo'));
      const g = await solo.client.createGroup({ title: 'Just me' });
      await solo.client.leaveChat({ chatId: g.id });
      expect(await fail(solo.client.getChat({ chatId: g.id }))).toMatchObject({ status: 404 });
    });
  });

  describe('a channel', () => {
    let owner: TestUser, s1: TestUser, s2: TestUser, s3: TestUser, s4: TestUser, s5: TestUser;
    beforeAll(async () => {
      [owner, s1, s2, s3, s4, s5] = await t.users(name('chan'), name('sub'), name('sub'), name('sub'), name('sub'), name('sub'));
    });

    /** A new channel of the owner and five subscribers: more than the group limit of 4. */
    async function channel() {
      const chat = await owner.client.createChannel({ title: 'News', memberIds: [s1.id, s2.id, s3.id, s4.id] });
      await owner.client.addMembers({ chatId: chat.id, userIds: [s5.id] });
      const post = await owner.client.sendMessage({ chatId: chat.id, text: 'Issue one', clientMessageId: 'p1' });
      return { chat, post };
    }

    it('takes more subscribers than the group limit', async () => {
      const created = await owner.client.createChannel({ title: 'News', memberIds: [s1.id, s2.id, s3.id, s4.id] });
      expect(created).toMatchObject({ kind: 'channel', title: 'News', role: 'owner', memberCount: 5 });
      await owner.client.addMembers({ chatId: created.id, userIds: [s5.id] });
      expect(await s5.client.getChat({ chatId: created.id })).toMatchObject({ role: 'subscriber', memberCount: 6 });
    });

    it('lets subscribers read what admins post, but not post', async () => {
      const { chat, post } = await channel();
      const err = await fail(s1.client.sendMessage({ chatId: chat.id, text: 'me too', clientMessageId: 's1' }));
      expect(err).toMatchObject({ status: 403, code: 'cannot_post' });
      expect((await s1.client.listMessages({ chatId: chat.id })).messages.map((m) => m.id)).toEqual([post.id]);
      expect((await s1.client.getChat({ chatId: chat.id })).unreadCount).toBe(1);
    });

    it("keeps subscribers' reads their own: no read receipts", async () => {
      const { chat, post } = await channel();
      const lastBefore = (await owner.client.getChat({ chatId: chat.id })).lastSeq;
      expect(await s1.client.markRead({ chatId: chat.id, seq: post.seq })).toEqual({ readSeq: post.seq, unreadCount: 0 });
      expect((await owner.client.getChat({ chatId: chat.id })).lastSeq).toBe(lastBefore);
      const ownerLog = await owner.client.getChanges({ userSeq: 0 });
      expect(ownerLog.events.filter((e) => e.type === 'read.updated' && e.chatId === chat.id)).toEqual([]);
    });

    it('keeps subscribers from managing it', async () => {
      const { chat, post } = await channel();
      expect(await fail(s1.client.addMembers({ chatId: chat.id, userIds: [owner.id] }))).toMatchObject({ status: 403, code: 'forbidden' });
      expect(await fail(s1.client.updateChat({ chatId: chat.id, title: 'Mine' }))).toMatchObject({ status: 403, code: 'forbidden' });
      expect(await fail(s1.client.deleteMessage({ chatId: chat.id, messageId: post.id }))).toMatchObject({ status: 403, code: 'forbidden' });
    });

    it('lets a subscriber made admin post, and not once a subscriber again', async () => {
      const { chat, post } = await channel();
      expect(await owner.client.setMemberRole({ chatId: chat.id, userId: s2.id, role: 'admin' })).toMatchObject({ role: 'admin' });
      const byAdmin = await s2.client.sendMessage({ chatId: chat.id, text: 'Issue two', clientMessageId: 'p2' });
      expect(byAdmin.seq).toBeGreaterThan(post.seq);
      expect(await owner.client.setMemberRole({ chatId: chat.id, userId: s2.id, role: 'member' })).toMatchObject({ role: 'subscriber' });
      expect(await fail(s2.client.sendMessage({ chatId: chat.id, text: 'Issue three', clientMessageId: 'p3' }))).toMatchObject({ code: 'cannot_post' });
    });

    it('lets a subscriber leave', async () => {
      const { chat } = await channel();
      await s3.client.leaveChat({ chatId: chat.id });
      expect(await fail(s3.client.listMessages({ chatId: chat.id }))).toMatchObject({ status: 404 });
      expect((await owner.client.getChat({ chatId: chat.id })).memberCount).toBe(5);
      const subs = (await owner.client.listMembers({ chatId: chat.id })).members;
      expect(subs.map((m) => m.user.id)).not.toContain(s3.id);
      expect(subs.filter((m) => m.role === 'subscriber')).toHaveLength(4);
    });
  });

  it('holds groups to the member limit, but not channels', async () => {
    const [o, a, b, c, d] = await t.users(name('lim'), name('m'), name('m'), name('m'), name('m'));
    expect(await fail(o.client.createGroup({ title: 'Too big', memberIds: [a.id, b.id, c.id, d.id] }))).toMatchObject({
      status: 409,
      code: 'member_limit_reached',
    });
    const g = await o.client.createGroup({ title: 'Full', memberIds: [a.id, b.id, c.id] });
    expect(await fail(o.client.addMembers({ chatId: g.id, userIds: [d.id] }))).toMatchObject({ status: 409, code: 'member_limit_reached' });
    expect((await o.client.listMembers({ chatId: g.id })).members).toHaveLength(4);
  });

  it('deletes a private chat for me until a new message arrives', async () => {
    const me = await t.user(name('hider'));
    const peer = await t.user(name('peer'));
    const chat = await me.client.createPrivateChat({ userId: peer.id });
    await peer.client.sendMessage({ chatId: chat.id, text: 'old one', clientMessageId: 'o1' });
    await me.client.sendMessage({ chatId: chat.id, text: 'old two', clientMessageId: 'o2' });
    await me.client.deleteChat({ chatId: chat.id });

    expect((await me.client.listChats()).chats.map((c) => c.id)).not.toContain(chat.id);
    expect((await me.client.listMessages({ chatId: chat.id })).messages).toEqual([]);
    expect((await peer.client.listMessages({ chatId: chat.id })).messages.map((m) => m.text)).toEqual(['old one', 'old two']);
    expect((await peer.client.listChats()).chats.map((c) => c.id)).toContain(chat.id);

    const fresh = await peer.client.sendMessage({ chatId: chat.id, text: 'hello again', clientMessageId: 'o3' });
    const back = (await me.client.listChats()).chats.find((c) => c.id === chat.id);
    expect(back).toMatchObject({ lastMessage: { id: fresh.id }, unreadCount: 1 });
    expect((await me.client.listMessages({ chatId: chat.id })).messages.map((m) => m.text)).toEqual(['hello again']);
    // Opening the chat again gives the same chat, not a new one.
    expect((await me.client.createPrivateChat({ userId: peer.id })).id).toBe(chat.id);
  });

  it('deletes a private chat for both, after which a new one can be opened', async () => {
    const me = await t.user(name('ender'));
    const peer = await t.user(name('peer'));
    const chat = await me.client.createPrivateChat({ userId: peer.id });
    await peer.client.sendMessage({ chatId: chat.id, text: 'bye', clientMessageId: 'b1' });
    await me.client.deleteChat({ chatId: chat.id, forEveryone: true });
    for (const u of [me, peer]) {
      expect((await u.client.listChats()).chats.map((c) => c.id)).not.toContain(chat.id);
      expect(await fail(u.client.getChat({ chatId: chat.id }))).toMatchObject({ status: 404, code: 'not_found' });
      expect(await fail(u.client.sendMessage({ chatId: chat.id, text: 'x', clientMessageId: 'b2' }))).toMatchObject({ status: 404 });
    }
    const again = await peer.client.createPrivateChat({ userId: me.id });
    expect(again.id).not.toBe(chat.id);
    expect((await me.client.listMessages({ chatId: again.id })).messages).toEqual([]);
  });

  it('edits, replies to and deletes messages, with the permissions of each kind', async () => {
    const [owner, mem, mod] = await t.users(name('ed'), name('mem'), name('mod'));
    const g = await owner.client.createGroup({ title: 'Edits', memberIds: [mem.id, mod.id] });
    await owner.client.setMemberRole({ chatId: g.id, userId: mod.id, role: 'admin' });
    const m1 = await mem.client.sendMessage({ chatId: g.id, text: 'typo hree', clientMessageId: 'e1' });
    expect(m1).toMatchObject({ kind: 'text', editedAt: null, deletedAt: null, replyToId: null, clientMessageId: 'e1' });
    const edited = await mem.client.editMessage({ chatId: g.id, messageId: m1.id, text: 'typo here' });
    expect(edited).toMatchObject({ id: m1.id, seq: m1.seq, text: 'typo here' });
    expect(edited.editedAt).not.toBeNull();
    expect(await fail(owner.client.editMessage({ chatId: g.id, messageId: m1.id, text: 'not mine' }))).toMatchObject({ status: 403, code: 'forbidden' });

    const reply = await owner.client.sendMessage({ chatId: g.id, text: 'got it', clientMessageId: 'e2', replyToId: m1.id });
    expect(reply.replyToId).toBe(m1.id);
    const elsewhere = (await owner.client.listChats()).chats.find((c) => c.kind === 'self')!;
    const outside = await owner.client.sendMessage({ chatId: elsewhere.id, text: 'private note', clientMessageId: 'e3' });
    expect(await fail(owner.client.sendMessage({ chatId: g.id, text: 'bad reply', clientMessageId: 'e4', replyToId: outside.id }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
    });

    // A plain member cannot delete another's message; an admin can; the sender can.
    expect(await fail(mem.client.deleteMessage({ chatId: g.id, messageId: reply.id }))).toMatchObject({ status: 403, code: 'forbidden' });
    await mod.client.deleteMessage({ chatId: g.id, messageId: reply.id });
    await mem.client.deleteMessage({ chatId: g.id, messageId: m1.id });
    const list = await owner.client.listMessages({ chatId: g.id });
    expect(list.messages.map((m) => [m.id, m.text, m.deletedAt !== null])).toEqual([
      [m1.id, null, true],
      [reply.id, null, true],
    ]);
    // A deleted message cannot be edited; deleting it again changes nothing.
    expect(await fail(mem.client.editMessage({ chatId: g.id, messageId: m1.id, text: 'back' }))).toMatchObject({ status: 404 });
    await mem.client.deleteMessage({ chatId: g.id, messageId: m1.id });
    const log = await owner.client.getChanges({ userSeq: 0 });
    const types = log.events.filter((e) => e.log === 'chat' && e.chatId === g.id).map((e) => e.type);
    expect(types.filter((x) => x === 'message.deleted')).toHaveLength(2);

    // In a private chat, deleting is for the sender only.
    const p = await owner.client.createPrivateChat({ userId: mem.id });
    const pm = await mem.client.sendMessage({ chatId: p.id, text: 'mine', clientMessageId: 'e5' });
    expect(await fail(owner.client.deleteMessage({ chatId: p.id, messageId: pm.id }))).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('pages messages before and after a position', async () => {
    const u = await t.user(name('pager'));
    const self = (await u.client.listChats()).chats[0]!;
    for (let i = 1; i <= 12; i++) await u.client.sendMessage({ chatId: self.id, text: `m${i}`, clientMessageId: `p${i}` });
    const latest = await u.client.listMessages({ chatId: self.id, limit: 5 });
    expect(latest.messages.map((m) => m.seq)).toEqual([8, 9, 10, 11, 12]);
    expect(latest.hasMore).toBe(true);
    const older = await u.client.listMessages({ chatId: self.id, before: 8, limit: 5 });
    expect(older.messages.map((m) => m.seq)).toEqual([3, 4, 5, 6, 7]);
    expect(older.hasMore).toBe(true);
    const oldest = await u.client.listMessages({ chatId: self.id, before: 3, limit: 5 });
    expect(oldest).toMatchObject({ hasMore: false });
    expect(oldest.messages.map((m) => m.seq)).toEqual([1, 2]);
    const after = await u.client.listMessages({ chatId: self.id, after: 9, limit: 2 });
    expect(after.messages.map((m) => m.seq)).toEqual([10, 11]);
    expect(after.hasMore).toBe(true);
    const tail = await u.client.listMessages({ chatId: self.id, after: 10, limit: 5 });
    expect(tail).toMatchObject({ hasMore: false });
    expect(tail.messages.map((m) => m.seq)).toEqual([11, 12]);
    expect(await fail(u.client.listMessages({ chatId: self.id, limit: 101 }))).toMatchObject({ status: 400 });
    expect(await fail(u.client.listMessages({ chatId: self.id, before: 5, after: 1 }))).toMatchObject({ status: 400 });
  });

  it('tells every device of every member about chat changes as they happen', async () => {
    const [owner, member] = await t.users(name('live'), name('watcher'));
    const ownerPhone = t.client();
    await ownerPhone.login({ username: owner.username, password: owner.password, deviceName: 'phone' });
    const [o1, o2, m1] = await Promise.all([rawSocket(t, owner), rawSocket(t, { client: ownerPhone }), rawSocket(t, member)]);
    const userEvent = (type: string, chatId: string) => (f: any) =>
      f.type === 'event' && f.event.log === 'user' && f.event.type === type && f.event.chatId === chatId;
    const chatEvent = (type: string, chatId: string) => (f: any) =>
      f.type === 'event' && f.event.log === 'chat' && f.event.type === type && f.event.chatId === chatId;

    const g = await owner.client.createGroup({ title: 'Live', memberIds: [member.id] });
    for (const s of [o1, o2]) await s.waitFor(userEvent('chat.joined', g.id));
    expect((await m1.waitFor(userEvent('chat.joined', g.id))).event).toMatchObject({ seq: 0 });
    expect((await m1.waitFor(chatEvent('member.added', g.id))).event).toMatchObject({
      seq: 1,
      actorId: owner.id,
      member: { userId: member.id, role: 'member' },
    });

    await owner.client.updateChat({ chatId: g.id, title: 'Live!' });
    for (const s of [o1, o2, m1]) expect((await s.waitFor(chatEvent('chat.updated', g.id))).event).toMatchObject({ title: 'Live!', actorId: owner.id });
    await owner.client.setMemberRole({ chatId: g.id, userId: member.id, role: 'admin' });
    for (const s of [o1, o2, m1])
      expect((await s.waitFor(chatEvent('member.updated', g.id))).event).toMatchObject({ member: { userId: member.id, role: 'admin' } });
    // Muting is mine alone: my other device hears of it, the other member does not.
    await owner.client.updateChat({ chatId: g.id, muted: true });
    expect((await o2.waitFor(userEvent('chat.muted', g.id))).event).toMatchObject({ muted: true });
    const m = await member.client.sendMessage({ chatId: g.id, text: 'read me', clientMessageId: 'rm' });
    await owner.client.markRead({ chatId: g.id, seq: m.seq });
    expect((await o2.waitFor(userEvent('chat.read', g.id))).event).toMatchObject({ seq: m.seq });
    expect((await m1.waitFor(chatEvent('read.updated', g.id))).event).toMatchObject({ read: { userId: owner.id, seq: m.seq } });

    await owner.client.deleteChat({ chatId: g.id });
    for (const s of [o1, o2, m1]) await s.waitFor(userEvent('chat.deleted', g.id));
    await settle(100);
    expect(m1.frames.some(userEvent('chat.muted', g.id)) || m1.frames.some(userEvent('chat.read', g.id))).toBe(false);
    // Every chat event arrived once, in position order.
    for (const s of [o1, o2, m1]) {
      const seqs = s.frames.filter((f) => f.type === 'event' && f.event.log === 'chat' && f.event.chatId === g.id).map((f) => f.event.seq);
      expect(seqs).toEqual(seqs.map((_: number, i: number) => i + 1));
    }
    for (const s of [o1, o2, m1]) s.close();
  });

  it('sends typing indicators to the other members only, and stores nothing', async () => {
    const [typer, reader, outsider] = await t.users(name('typer'), name('reader'), name('outsider'));
    const g = await typer.client.createGroup({ title: 'Typing', memberIds: [reader.id] });
    const before = await reader.client.getChanges({ userSeq: 0 });
    const [ts, rs, os] = await Promise.all([rawSocket(t, typer), rawSocket(t, reader), rawSocket(t, outsider)]);
    ts.send({ type: 'typing', chatId: g.id });
    expect(await rs.waitFor((f) => f.type === 'typing')).toEqual({ type: 'typing', chatId: g.id, userId: typer.id });
    await settle();
    expect(ts.frames.filter((f) => f.type === 'typing')).toEqual([]);
    expect(os.frames.filter((f) => f.type === 'typing')).toEqual([]);
    expect(rs.frames.filter((f) => f.type === 'event')).toEqual([]);
    // Nothing was written: no position was taken, nothing is in the log.
    expect((await reader.client.getChat({ chatId: g.id })).lastSeq).toBe(before.chats[g.id]);
    const after = await reader.client.getChanges({ userSeq: before.userSeq, chats: before.chats });
    expect(after.events).toEqual([]);
    for (const s of [ts, rs, os]) s.close();
  });

  it('lists every chat and message operation in the OpenAPI document', async () => {
    const doc = await (await fetch(`${t.url}/api/v1/openapi.json`)).json();
    const ids = new Set<string>();
    for (const item of Object.values(doc.paths) as Record<string, { operationId?: string }>[]) {
      for (const op of Object.values(item)) if (op.operationId) ids.add(op.operationId);
    }
    const wanted = [
      'listChats',
      'getChat',
      'createPrivateChat',
      'createGroup',
      'createChannel',
      'updateChat',
      'deleteChat',
      'leaveChat',
      'listMembers',
      'addMembers',
      'removeMember',
      'setMemberRole',
      'transferOwnership',
      'sendMessage',
      'listMessages',
      'editMessage',
      'deleteMessage',
      'markRead',
      'getChanges',
    ];
    expect(wanted.filter((id) => !ids.has(id))).toEqual([]);
  });
});
