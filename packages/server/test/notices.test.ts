import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatNotice } from '@parley/sdk';
import { startTestServer, stores, type TestServer } from './_harness.ts';

/** A notice as a short line, to compare a timeline's service lines at a glance. */
const line = (n: ChatNotice) => [n.type, n.actorId, n.member?.userId ?? n.title ?? '', n.member?.role ?? ''].join(' ').trim();

describe.each(await stores())('service lines in history on %s', (kind) => {
  let t: TestServer;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;
  beforeAll(async () => (t = await startTestServer(kind, { PARLEY_WRITE_RATE: '10000/10s', PARLEY_MESSAGE_RATE: '10000/10s' })));
  afterAll(async () => t?.close());

  it("carries a group's membership and title changes among its messages, each page its own, none twice", async () => {
    const [alice, bob, carol] = await t.users(name('alice'), name('bob'), name('carol'));
    const group = await alice.client.createGroup({ title: 'Trip', memberIds: [bob.id] });
    const say = (i: number) => alice.client.sendMessage({ chatId: group.id, clientMessageId: `m${i}`, text: `message ${i}` });
    for (let i = 0; i < 3; i++) await say(i);
    await alice.client.updateChat({ chatId: group.id, title: 'Weekend trip' });
    await alice.client.setMemberRole({ chatId: group.id, userId: bob.id, role: 'admin' });
    for (let i = 3; i < 6; i++) await say(i);
    await bob.client.addMembers({ chatId: group.id, userIds: [carol.id] });
    await bob.client.removeMember({ chatId: group.id, userId: carol.id });
    await alice.client.addMembers({ chatId: group.id, userIds: [carol.id] });
    await say(6);
    await alice.client.transferOwnership({ chatId: group.id, userId: bob.id });
    await carol.client.leaveChat({ chatId: group.id });

    const expected = [
      `member.added ${alice.id} ${bob.id} member`,
      `chat.updated ${alice.id} Weekend trip`,
      `member.updated ${alice.id} ${bob.id} admin`,
      `member.added ${bob.id} ${carol.id} member`,
      `member.removed ${bob.id} ${carol.id}`,
      `member.added ${alice.id} ${carol.id} member`,
    ];
    const all = await alice.client.listMessages({ chatId: group.id });
    const ownership = all.notices.slice(expected.length, -1).map(line);
    expect(all.notices.slice(0, expected.length).map(line)).toEqual(expected);
    // Ownership moves in two changes (the new owner up, the old one down), then Carol leaves.
    expect(ownership).toEqual(expect.arrayContaining([`member.updated ${alice.id} ${bob.id} owner`]));
    expect(line(all.notices.at(-1)!)).toBe(`member.removed ${carol.id} ${carol.id}`);
    // Each notice sits between the messages it came between.
    const seqOf = (text: string) => all.messages.find((m) => m.text === text)!.seq;
    expect(all.notices[0]!.seq).toBeLessThan(seqOf('message 0'));
    expect(all.notices[1]!.seq).toBeGreaterThan(seqOf('message 2'));
    expect(all.notices[2]!.seq).toBeLessThan(seqOf('message 3'));

    // Paged two messages at a time, newest first, then forwards: the pages' notices add up to the
    // same list, each once.
    const pages: ChatNotice[] = [];
    let page = await alice.client.listMessages({ chatId: group.id, limit: 2 });
    pages.unshift(...page.notices);
    while (page.hasMore) {
      page = await alice.client.listMessages({ chatId: group.id, before: page.messages[0]!.seq, limit: 2 });
      pages.unshift(...page.notices);
    }
    expect(pages.map(line)).toEqual(all.notices.map(line));
    const forwards: ChatNotice[] = [];
    let after = 0;
    for (;;) {
      const p = await alice.client.listMessages({ chatId: group.id, after, limit: 2 });
      forwards.push(...p.notices);
      if (!p.hasMore) break;
      after = p.messages.at(-1)!.seq;
    }
    expect(forwards.map(line)).toEqual(all.notices.map(line));
  });

  it('shows a member what happened since they joined, from being added on, and nothing from before', async () => {
    const [alice, bob, carol] = await t.users(name('alice'), name('bob'), name('carol'));
    const group = await alice.client.createGroup({ title: 'Before', memberIds: [bob.id] });
    await alice.client.updateChat({ chatId: group.id, title: 'Old name' });
    await alice.client.sendMessage({ chatId: group.id, clientMessageId: 'm0', text: 'before Carol' });
    await alice.client.addMembers({ chatId: group.id, userIds: [carol.id] });
    await alice.client.updateChat({ chatId: group.id, title: 'New name' });
    const seen = await carol.client.listMessages({ chatId: group.id });
    expect(seen.messages).toEqual([]);
    expect(seen.notices.map(line)).toEqual([`member.added ${alice.id} ${carol.id} member`, `chat.updated ${alice.id} New name`]);
  });

  it('keeps channels free of them, and a non-member gets 404 as before', async () => {
    const [alice, bob, eve] = await t.users(name('alice'), name('bob'), name('eve'));
    const channel = await alice.client.createChannel({ title: 'News' });
    await alice.client.addMembers({ chatId: channel.id, userIds: [bob.id] });
    await alice.client.updateChat({ chatId: channel.id, title: 'Daily news' });
    expect((await bob.client.listMessages({ chatId: channel.id })).notices).toEqual([]);
    const refused = await eve.client.listMessages({ chatId: channel.id }).catch((e: { status: number; code: string }) => e);
    expect(refused).toMatchObject({ status: 404, code: 'not_found' });
  });
});
