import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';

async function chatIds(u: TestUser): Promise<string[]> {
  return (await u.client.listChats()).chats.map((c) => c.id);
}

async function failure(call: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await call;
  } catch (err) {
    const e = err as { status: number; code: string };
    return { status: e.status, code: e.code };
  }
  throw new Error('the call succeeded');
}

describe.each(await stores())('who may add me to groups and channels (%s)', (kind) => {
  let t: TestServer;
  let owner: TestUser;
  let open: TestUser;
  let picky: TestUser;
  let closed: TestUser;
  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_MAX_CHATS_PER_USER: '8' });
    [owner, open, picky, closed] = [await t.user('owner'), await t.user('open'), await t.user('picky'), await t.user('closed')];
    await picky.client.updateMe({ addPolicy: 'contacts' });
    await closed.client.updateMe({ addPolicy: 'nobody' });
  });
  afterAll(() => t?.close());

  it('everyone may add me by default, and the setting is part of my profile', async () => {
    expect((await open.client.getMe()).addPolicy).toBe('everyone');
    expect((await closed.client.getMe()).addPolicy).toBe('nobody');
    const group = await owner.client.createGroup({ title: 'Open door', memberIds: [open.id] });
    expect(await chatIds(open)).toContain(group.id);
  });

  it('someone who allows nobody is invited instead of added, and joins by accepting', async () => {
    const group = await owner.client.createGroup({ title: 'Ask first', memberIds: [closed.id] });
    expect(group.memberCount).toBe(1);
    expect(await chatIds(closed)).not.toContain(group.id);
    const { invitations } = await closed.client.listChatInvitations();
    expect(invitations).toMatchObject([{ chatId: group.id, kind: 'group', title: 'Ask first', invitedBy: { id: owner.id } }]);
    await owner.client.sendMessage({ chatId: group.id, text: 'before you said yes', clientMessageId: 'pre' });
    const joined = await closed.client.acceptChatInvitation({ chatId: group.id });
    expect(joined).toMatchObject({ id: group.id, role: 'member', memberCount: 2 });
    expect((await closed.client.listChatInvitations()).invitations).toEqual([]);
    expect((await closed.client.listMessages({ chatId: group.id })).messages.map((m) => m.text)).toEqual([]);
  });

  it('people I share a chat with may add me when I allow contacts; strangers invite', async () => {
    const stranger = await t.user('stranger');
    const fromStranger = await stranger.client.createGroup({ title: 'Cold call' });
    const added = await stranger.client.addMembers({ chatId: fromStranger.id, userIds: [picky.id] });
    expect(added).toEqual({ members: [], invited: [picky.id] });
    await owner.client.createPrivateChat({ userId: picky.id });
    const fromContact = await owner.client.createChannel({ title: 'Friends only' });
    const result = await owner.client.addMembers({ chatId: fromContact.id, userIds: [picky.id] });
    expect(result.invited).toEqual([]);
    expect(result.members.map((m) => m.user.id)).toEqual([picky.id]);
  });

  it('a declined invitation is gone and cannot be accepted afterwards', async () => {
    const group = await owner.client.createGroup({ title: 'No thanks', memberIds: [closed.id] });
    await closed.client.declineChatInvitation({ chatId: group.id });
    expect((await closed.client.listChatInvitations()).invitations.map((i) => i.chatId)).not.toContain(group.id);
    expect(await failure(closed.client.acceptChatInvitation({ chatId: group.id }))).toEqual({ status: 404, code: 'not_found' });
    expect(await chatIds(closed)).not.toContain(group.id);
  });

  it('nobody can fill my chat limit by adding me: invitations do not count, and I can still start chats', async () => {
    const victim = await t.user('victim');
    await victim.client.updateMe({ addPolicy: 'nobody' });
    const spammer = await t.user('spammer');
    // The spammer's own limit (8 chats with saved messages) stops them at 7 groups: had they been added, the victim would be full.
    for (let i = 0; i < 7; i++) await spammer.client.createGroup({ title: `spam ${i}`, memberIds: [victim.id] });
    expect(await chatIds(victim)).toHaveLength(1);
    expect((await victim.client.listChatInvitations()).invitations).toHaveLength(7);
    await victim.client.createGroup({ title: 'mine' });
    expect(await chatIds(victim)).toHaveLength(2);
  });

  it('an unknown setting is refused with a 400', async () => {
    expect(await failure(open.client.updateMe({ addPolicy: 'friends' as never }))).toEqual({ status: 400, code: 'invalid_request' });
    expect((await open.client.getMe()).addPolicy).toBe('everyone');
  });
});
