import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { rawSocket, settle } from './_ws.ts';

describe.each(await stores())('access follows membership (%s)', (kind) => {
  let t: TestServer;
  let owner: TestUser;
  let late: TestUser;
  let reader: TestUser;
  beforeAll(async () => {
    t = await startTestServer(kind);
    [owner, late, reader] = [await t.user('owner'), await t.user('late'), await t.user('reader')];
  });
  afterAll(() => t?.close());

  const texts = async (u: TestUser, chatId: string) => (await u.client.listMessages({ chatId })).messages.map((m) => m.text);

  it('a member added later reads history only from where they joined', async () => {
    const group = await owner.client.createGroup({ title: 'Plans' });
    await owner.client.sendMessage({ chatId: group.id, text: 'before you came', clientMessageId: 'b1' });
    await owner.client.addMembers({ chatId: group.id, userIds: [late.id] });
    await owner.client.sendMessage({ chatId: group.id, text: 'welcome', clientMessageId: 'b2' });
    expect(await texts(late, group.id)).toEqual(['welcome']);
    expect(await texts(owner, group.id)).toEqual(['before you came', 'welcome']);
  });

  it('a member removed and added again does not read what was said while they were out', async () => {
    const group = await owner.client.createGroup({ title: 'Again', memberIds: [late.id] });
    await owner.client.sendMessage({ chatId: group.id, text: 'first spell', clientMessageId: 'a1' });
    await owner.client.removeMember({ chatId: group.id, userId: late.id });
    await owner.client.sendMessage({ chatId: group.id, text: 'while you were out', clientMessageId: 'a2' });
    await owner.client.addMembers({ chatId: group.id, userIds: [late.id] });
    await owner.client.sendMessage({ chatId: group.id, text: 'back again', clientMessageId: 'a3' });
    const seen = await texts(late, group.id);
    expect(seen).not.toContain('while you were out');
    expect(seen).toContain('back again');
  });

  it('a query parameter cannot stand in for a path parameter', async () => {
    const mine = await owner.client.createGroup({ title: 'Mine' });
    const theirs = await late.client.createGroup({ title: 'Theirs', memberIds: [owner.id] });
    const m = await late.client.sendMessage({ chatId: theirs.id, text: 'keep me', clientMessageId: 'q1' });
    // The path names a chat the owner runs; the query names the message's own chat.
    const res = await fetch(`${t.url}/api/v1/chats/${mine.id}/messages/${m.id}?chatId=${theirs.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${owner.client.session!.accessToken}` },
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe('invalid_request');
    expect(await texts(late, theirs.id)).toContain('keep me');
  });

  it("a channel's subscribers see who runs it, not its other subscribers; its admins see everyone", async () => {
    const channel = await owner.client.createChannel({ title: 'News', memberIds: [late.id, reader.id] });
    const seenBySubscriber = (await reader.client.listMembers({ chatId: channel.id })).members.map((m) => m.user.id).sort();
    expect(seenBySubscriber).toEqual([owner.id, reader.id].sort());
    const seenByOwner = (await owner.client.listMembers({ chatId: channel.id })).members.map((m) => m.user.id).sort();
    expect(seenByOwner).toEqual([owner.id, late.id, reader.id].sort());
  });

  it("a channel subscriber's typing reaches nobody", async () => {
    const channel = await owner.client.createChannel({ title: 'Quiet', memberIds: [late.id, reader.id] });
    const watching = await rawSocket(t, owner);
    const typist = await rawSocket(t, reader);
    typist.send({ type: 'typing', chatId: channel.id });
    await settle(500);
    expect(watching.frames.filter((f) => f.type === 'typing')).toEqual([]);
    watching.close();
    typist.close();
  });
});
