import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCleanup } from '../src/modules/cleanup/cleanup.ts';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { eventually } from './_realtime.ts';
import { ANSWER, OFFER, callEvents, callFrame, codeOf, device, turnCredentialHolds, wire, type Device } from './_calls.ts';
import { settle } from './_ws.ts';

const SECRET = 'turn-secret-7d1c0e9b';
const TTL_SECONDS = 600;

describe.each(await stores())('1:1 calls on %s', (kind) => {
  let t: TestServer;
  let offset = 0;
  const devices: Device[] = [];
  let n = 0;

  beforeAll(async () => {
    t = await startTestServer(
      kind,
      {
        PARLEY_LOGIN_LIMIT: '1000/60s',
        PARLEY_STUN_URLS: 'stun:127.0.0.1:3478',
        PARLEY_TURN_URLS: 'turn:127.0.0.1:3478?transport=udp,turn:127.0.0.1:3478?transport=tcp',
        PARLEY_TURN_SECRET: SECRET,
        PARLEY_TURN_TTL_SECONDS: String(TTL_SECONDS),
      },
      { now: () => Date.now() + offset },
    );
  });
  afterAll(async () => {
    for (const d of devices) d.rt.close();
    await t?.close();
  });

  /** Two fresh users with a private chat; the caller with `callerDevices` devices, the callee with `calleeDevices`. */
  async function pair(callerDevices = 1, calleeDevices = 2) {
    n++;
    const [ann, bob] = await t.users(`ann${n}`, `bob${n}`);
    const chat = await ann.client.createPrivateChat({ userId: bob.id });
    const devs = async (u: TestUser, count: number) => {
      const list = [await device(t.url, u, 'first', u.client)];
      for (let i = 1; i < count; i++) list.push(await device(t.url, u, `device-${i}`));
      devices.push(...list);
      return list;
    };
    return { ann, bob, chatId: chat.id, caller: await devs(ann, callerDevices), callee: await devs(bob, calleeDevices) };
  }

  it('rings every device of the callee, tells the caller’s other devices, and hands out TURN credentials that verify and expire as configured', async () => {
    const { ann, bob, chatId, caller, callee } = await pair(2, 2);
    const before = Math.floor(Date.now() / 1000);
    const placed = await caller[0]!.rt.inviteCall({ chatId, offer: OFFER });
    expect(placed.chatId).toBe(chatId);
    for (const d of callee) {
      const ring = await callFrame(d, 'call.incoming', (f) => f.callId === placed.callId);
      expect(ring).toMatchObject({ chatId, from: { userId: ann.id, sessionId: caller[0]!.sessionId }, offer: OFFER });
      const turn = ring.iceServers.find((s) => s.username)!;
      expect(turn.username!.endsWith(`:${bob.id}`)).toBe(true);
      expect(turnCredentialHolds(turn, SECRET)).toBe(true);
    }
    expect(await callFrame(caller[1]!, 'call.state', (f) => f.callId === placed.callId)).toMatchObject({ state: 'ringing', chatId });
    // The caller's own device is not told what it did.
    await settle(200);
    expect(caller[0]!.calls.filter((f) => f.type === 'call.state' || f.type === 'call.incoming')).toEqual([]);

    expect(placed.iceServers[0]).toEqual({ urls: ['stun:127.0.0.1:3478'] });
    const turn = placed.iceServers[1]!;
    expect(turn.urls).toEqual(['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp']);
    const [expiry, userId] = turn.username!.split(':');
    expect(userId).toBe(ann.id);
    expect(Number(expiry)).toBeGreaterThanOrEqual(before + TTL_SECONDS);
    expect(Number(expiry)).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + TTL_SECONDS);
    expect(turnCredentialHolds(turn, SECRET)).toBe(true);
    expect(turnCredentialHolds(turn, 'another-secret')).toBe(false);
    // The secret itself reaches no client, in any frame.
    expect(wire.length).toBeGreaterThan(0);
    expect(wire.some((text) => text.includes(SECRET))).toBe(false);
    await caller[0]!.rt.hangupCall(placed.callId);
  });

  it('lets exactly one of two devices answer a call, 20 times over: the other is told answered_elsewhere', async () => {
    const { bob, chatId, caller, callee } = await pair(1, 2);
    const wins = [0, 0];
    for (let round = 0; round < 20; round++) {
      const { callId } = await caller[0]!.rt.inviteCall({ chatId, offer: OFFER });
      await Promise.all(callee.map((d) => callFrame(d, 'call.incoming', (f) => f.callId === callId)));
      const results = await Promise.all(callee.map((d) => codeOf(d.rt.acceptCall(callId, ANSWER))));
      expect(results.sort()).toEqual(['call_not_ringing', 'ok']);
      const accepted = await callFrame(caller[0]!, 'call.accepted', (f) => f.callId === callId);
      const winner = callee.findIndex((d) => d.sessionId === accepted.by.sessionId);
      expect(winner).toBeGreaterThanOrEqual(0);
      expect(accepted).toMatchObject({ by: { userId: bob.id }, answer: ANSWER });
      wins[winner]!++;
      const loser = callee[1 - winner]!;
      await callFrame(loser, 'call.state', (f) => f.callId === callId && f.state === 'answered_elsewhere');
      expect(callee[winner]!.calls.some((f) => f.type === 'call.state' && f.callId === callId)).toBe(false);
      await caller[0]!.rt.hangupCall(callId);
      await callFrame(callee[winner]!, 'call.ended', (f) => f.callId === callId);
    }
    expect(wins[0]! + wins[1]!).toBe(20);
  });

  it('ends a declined call on every device of both, and writes it in the chat', async () => {
    const { bob, chatId, caller, callee } = await pair(1, 2);
    const { callId } = await caller[0]!.rt.inviteCall({ chatId, offer: OFFER });
    await callFrame(callee[1]!, 'call.incoming', (f) => f.callId === callId);
    await callee[1]!.rt.declineCall(callId);
    for (const d of [...caller, ...callee])
      expect(await callFrame(d, 'call.ended', (f) => f.callId === callId)).toMatchObject({ reason: 'declined', by: bob.id });
    for (const d of [caller[0]!, callee[0]!]) {
      await eventually(() => callEvents(d, callId).length === 1, 5000, 'the call.ended event');
      expect(callEvents(d, callId)[0]).toMatchObject({ chatId, actorId: bob.id, call: { callId, outcome: 'declined', durationMs: null } });
    }
    expect(await codeOf(callee[0]!.rt.acceptCall(callId, ANSWER))).toBe('call_not_ringing');
    expect(await codeOf(callee[0]!.rt.declineCall(callId))).toBe('call_not_ringing');
  });

  it('records a completed call with its duration in both histories, live and through sync', async () => {
    const { ann, chatId, caller, callee } = await pair(1, 1);
    const { callId } = await caller[0]!.rt.inviteCall({ chatId, offer: OFFER });
    await callFrame(callee[0]!, 'call.incoming', (f) => f.callId === callId);
    await callee[0]!.rt.acceptCall(callId, ANSWER);
    await callFrame(caller[0]!, 'call.accepted', (f) => f.callId === callId);
    await new Promise((r) => setTimeout(r, 400));
    await callee[0]!.rt.hangupCall(callId);
    expect(await callFrame(caller[0]!, 'call.ended', (f) => f.callId === callId)).toMatchObject({ reason: 'hangup' });
    // Hanging up a call that is over is answered as done.
    await caller[0]!.rt.hangupCall(callId);
    for (const d of [caller[0]!, callee[0]!]) {
      await eventually(() => callEvents(d, callId).length === 1, 5000, 'the call.ended event');
      const { call } = callEvents(d, callId)[0]!;
      expect(call).toMatchObject({ callId, callerId: ann.id, outcome: 'completed' });
      expect(call!.durationMs).toBeGreaterThanOrEqual(400);
      expect(call!.durationMs).toBeLessThan(10_000);
      const changes = await d.client.getChanges({ userSeq: 0, chats: { [chatId]: 0 } });
      expect(changes.events.filter((e) => e.log === 'chat' && e.type === 'call.ended')).toEqual([callEvents(d, callId)[0]]);
    }
  });

  it('ends a call nobody answered as missed through the cleanup job', async () => {
    const { chatId, caller, callee } = await pair(1, 1);
    const { callId } = await caller[0]!.rt.inviteCall({ chatId, offer: OFFER });
    await callFrame(callee[0]!, 'call.incoming', (f) => f.callId === callId);
    // Not yet expired: cleanup leaves it ringing.
    expect((await runCleanup(t.server.ctx)).calls).toBe(0);
    offset = 46_000;
    try {
      expect(await codeOf(callee[0]!.rt.acceptCall(callId, ANSWER))).toBe('call_not_ringing');
      expect((await runCleanup(t.server.ctx)).calls).toBe(1);
    } finally {
      offset = 0;
    }
    for (const d of [caller[0]!, callee[0]!])
      expect(await callFrame(d, 'call.ended', (f) => f.callId === callId)).toMatchObject({ reason: 'missed', by: null });
    await eventually(() => callEvents(callee[0]!, callId).length === 1, 5000, 'the missed call in the chat');
    expect(callEvents(callee[0]!, callId)[0]!.call).toMatchObject({ outcome: 'missed', durationMs: null });
    // The chat is free again.
    const next = await caller[0]!.rt.inviteCall({ chatId, offer: OFFER });
    await caller[0]!.rt.hangupCall(next.callId);
  });

  it('answers busy when the callee is in another call, and writes it in the chat', async () => {
    const { ann, bob, chatId, caller, callee } = await pair(1, 1);
    const carol = await t.user(`carol${n}`);
    const carolDev = await device(t.url, carol, 'first', carol.client);
    devices.push(carolDev);
    const talk = (await carol.client.createPrivateChat({ userId: bob.id })).id;
    const first = await carolDev.rt.inviteCall({ chatId: talk, offer: OFFER });
    await callFrame(callee[0]!, 'call.incoming', (f) => f.callId === first.callId);
    await callee[0]!.rt.acceptCall(first.callId, ANSWER);

    expect(await codeOf(caller[0]!.rt.inviteCall({ chatId, offer: OFFER }))).toBe('callee_busy');
    await eventually(() => caller[0]!.events.some((e) => e.type === 'call.ended' && e.chatId === chatId), 5000, 'the busy call in the chat');
    const busy = caller[0]!.events.find((e) => e.type === 'call.ended' && e.chatId === chatId)!;
    expect(busy).toMatchObject({ actorId: bob.id, call: { callerId: ann.id, outcome: 'busy', durationMs: null } });
    await settle(200);
    expect(callee[0]!.calls.filter((f) => f.type === 'call.incoming' && f.chatId === chatId)).toEqual([]);
    await carolDev.rt.hangupCall(first.callId);
  });

  it('refuses a second call in a chat that has one (glare), naming the call that rings', async () => {
    const { chatId, caller, callee } = await pair(1, 1);
    const { callId } = await caller[0]!.rt.inviteCall({ chatId, offer: OFFER });
    await callFrame(callee[0]!, 'call.incoming', (f) => f.callId === callId);
    const err = await callee[0]!.rt.inviteCall({ chatId, offer: OFFER }).catch((e: { code: string; message: string }) => e);
    expect(err).toMatchObject({ code: 'call_exists' });
    expect((err as { message: string }).message).toContain(callId);
    // The answer path stays open: the callee answers the call that rings.
    await callee[0]!.rt.acceptCall(callId, ANSWER);
    await caller[0]!.rt.hangupCall(callId);
  });

  it('refuses calls outside private chats and to non-members with 4xx frame errors', async () => {
    const { ann, bob, chatId, caller, callee } = await pair(1, 1);
    const eve = await t.user(`eve${n}`);
    const eveDev = await device(t.url, eve, 'first', eve.client);
    devices.push(eveDev);
    const group = await ann.client.createGroup({ title: 'G', memberIds: [bob.id] });
    const channel = await ann.client.createChannel({ title: 'C', memberIds: [bob.id] });
    const self = (await ann.client.listChats()).chats.find((c) => c.kind === 'self');
    expect(await codeOf(caller[0]!.rt.inviteCall({ chatId: group.id, offer: OFFER }))).toBe('invalid_request');
    expect(await codeOf(caller[0]!.rt.inviteCall({ chatId: channel.id, offer: OFFER }))).toBe('invalid_request');
    if (self) expect(await codeOf(caller[0]!.rt.inviteCall({ chatId: self.id, offer: OFFER }))).toBe('invalid_request');
    expect(await codeOf(eveDev.rt.inviteCall({ chatId, offer: OFFER }))).toBe('not_found');
    expect(await codeOf(eveDev.rt.inviteCall({ chatId: 'no-such-chat', offer: OFFER }))).toBe('not_found');
    // A bad offer is refused by the schema.
    expect(await codeOf(caller[0]!.rt.inviteCall({ chatId, offer: { type: 'offer', sdp: '' } }))).toBe('invalid_request');

    const { callId } = await caller[0]!.rt.inviteCall({ chatId, offer: OFFER });
    // Someone outside the call gets the same 404 as for a call that does not exist.
    expect(await codeOf(eveDev.rt.acceptCall(callId, ANSWER))).toBe('not_found');
    expect(await codeOf(eveDev.rt.hangupCall(callId))).toBe('not_found');
    expect(await codeOf(eveDev.rt.declineCall('no-such-call'))).toBe('not_found');
    // The caller cannot answer their own call.
    expect(await codeOf(caller[0]!.rt.acceptCall(callId, ANSWER))).toBe('invalid_request');
    await callFrame(callee[0]!, 'call.incoming', (f) => f.callId === callId);
    await caller[0]!.rt.hangupCall(callId);
    expect(await callFrame(callee[0]!, 'call.ended', (f) => f.callId === callId)).toMatchObject({ reason: 'hangup' });
    await eventually(() => callEvents(callee[0]!, callId).length === 1, 5000, 'the cancelled call in the chat');
    expect(callEvents(callee[0]!, callId)[0]!.call!.outcome).toBe('missed');
  });

  it('routes ICE and SDP only to the peer device: to every ringing device before the answer, then to the one that answered', async () => {
    const { ann, chatId, caller, callee } = await pair(2, 3);
    const { callId } = await caller[0]!.rt.inviteCall({ chatId, offer: OFFER });
    const early = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
    expect(caller[0]!.rt.signalCall(callId, { ice: early })).toBe(true);
    for (const d of callee) {
      const sig = await callFrame(d, 'call.signal', (f) => f.callId === callId);
      expect(sig).toMatchObject({ from: { userId: ann.id, sessionId: caller[0]!.sessionId }, ice: early });
    }
    await callee[2]!.rt.acceptCall(callId, ANSWER);
    const late = { candidate: 'candidate:2 1 udp 2122260223 127.0.0.1 50002 typ host', sdpMid: '0', sdpMLineIndex: 0 };
    caller[0]!.rt.signalCall(callId, { ice: late });
    callee[2]!.rt.signalCall(callId, { sdp: { type: 'offer', sdp: 'v=0\r\ns=restart\r\n' } });
    callee[2]!.rt.signalCall(callId, { ice: null });
    await callFrame(callee[2]!, 'call.signal', (f) => f.callId === callId && f.ice?.candidate === late.candidate);
    await callFrame(caller[0]!, 'call.signal', (f) => f.callId === callId && f.sdp?.sdp === 'v=0\r\ns=restart\r\n');
    await callFrame(caller[0]!, 'call.signal', (f) => f.callId === callId && f.ice === null);
    await settle(300);
    // The third party hears nothing: the callee's devices that did not answer, and the caller's other device.
    for (const d of [callee[0]!, callee[1]!]) expect(d.calls.filter((f) => f.type === 'call.signal').map((f) => (f as { ice?: unknown }).ice)).toEqual([early]);
    expect(caller[1]!.calls.filter((f) => f.type === 'call.signal')).toEqual([]);
    // A device that is not in the call cannot speak in it; an empty signal is refused.
    const errors = () => wire.filter((text) => text.includes('"type":"error"') && text.includes('is not on this device')).length;
    const before = errors();
    callee[0]!.rt.signalCall(callId, { ice: late });
    await eventually(() => errors() === before + 1, 5000, 'the error frame');
    await caller[0]!.rt.hangupCall(callId);
  });

  it('ends the calls of a device that logs out (reason gone)', async () => {
    const { chatId, caller, callee } = await pair(1, 2);
    const { callId } = await caller[0]!.rt.inviteCall({ chatId, offer: OFFER });
    await callFrame(callee[1]!, 'call.incoming', (f) => f.callId === callId);
    await callee[1]!.rt.acceptCall(callId, ANSWER);
    await callee[1]!.client.logout();
    expect(await callFrame(caller[0]!, 'call.ended', (f) => f.callId === callId)).toMatchObject({ reason: 'gone', by: null });
    await eventually(() => callEvents(caller[0]!, callId).length === 1, 5000, 'the call in the chat');
    expect(callEvents(caller[0]!, callId)[0]!.call!.outcome).toBe('completed');
  });
});
