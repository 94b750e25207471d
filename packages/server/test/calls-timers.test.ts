import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './_harness.ts';
import { eventually } from './_realtime.ts';
import { ANSWER, OFFER, callEvents, callFrame, codeOf, device, wire, type Device } from './_calls.ts';
import { settle } from './_ws.ts';

/** The timers of one node, with a 2 s ring and a 1 s reconnect grace; the cleanup job does not run meanwhile. */
describe('call timers', () => {
  let t: TestServer;
  const devices: Device[] = [];
  let n = 0;

  beforeAll(async () => {
    t = await startTestServer('sqlite', { PARLEY_LOGIN_LIMIT: '1000/60s', PARLEY_CALL_RING_SECONDS: '2', PARLEY_CALL_GRACE_SECONDS: '1' });
  });
  afterAll(async () => {
    for (const d of devices) d.rt.close();
    await t?.close();
  });

  async function pair() {
    n++;
    const [ann, bob] = await t.users(`ann${n}`, `bob${n}`);
    const chatId = (await ann.client.createPrivateChat({ userId: bob.id })).id;
    const caller = await device(t.url, ann, 'first', ann.client);
    const callee = await device(t.url, bob, 'first', bob.client);
    devices.push(caller, callee);
    return { chatId, caller, callee };
  }

  it('ends a call nobody answers as missed when its ring time is up, and gives no ICE servers when none are configured', async () => {
    const { chatId, caller, callee } = await pair();
    const placed = await caller.rt.inviteCall({ chatId, offer: OFFER });
    expect(placed.iceServers).toEqual([]);
    expect((await callFrame(callee, 'call.incoming', (f) => f.callId === placed.callId)).iceServers).toEqual([]);
    const ended = await callFrame(caller, 'call.ended', (f) => f.callId === placed.callId, 6000);
    expect(ended).toMatchObject({ reason: 'missed', by: null });
    await eventually(() => callEvents(callee, placed.callId).length === 1, 5000, 'the missed call in the chat');
    expect(callEvents(callee, placed.callId)[0]!.call!.outcome).toBe('missed');
  });

  it('tells a device that resumes where its call stands, and refuses one that is not in it', async () => {
    const { chatId, caller, callee } = await pair();
    const other = await device(t.url, { id: callee.userId, username: `bob${n}`, password: `pw-bob${n}-secret` }, 'second');
    devices.push(other);
    const { callId } = await caller.rt.inviteCall({ chatId, offer: OFFER });
    await callFrame(other, 'call.incoming', (f) => f.callId === callId);
    expect(await caller.rt.resumeCall(callId)).toMatchObject({ callId, chatId, state: 'ringing', peer: null, iceServers: [] });
    expect(await other.rt.resumeCall(callId)).toMatchObject({ state: 'ringing', peer: { userId: caller.userId, sessionId: caller.sessionId } });
    await callee.rt.acceptCall(callId, ANSWER);
    expect(await caller.rt.resumeCall(callId)).toMatchObject({ state: 'active', peer: { userId: callee.userId, sessionId: callee.sessionId } });
    expect(await callee.rt.resumeCall(callId)).toMatchObject({ state: 'active', peer: { userId: caller.userId, sessionId: caller.sessionId } });
    expect(await codeOf(other.rt.resumeCall(callId))).toBe('invalid_request');
    await caller.rt.hangupCall(callId);
    expect(await codeOf(caller.rt.resumeCall(callId))).toBe('call_not_ringing');
  });

  it('limits the call frames of one socket: past 120 in 10 s they are refused with rate_limited and not relayed', async () => {
    const { chatId, caller, callee } = await pair();
    const { callId } = await caller.rt.inviteCall({ chatId, offer: OFFER });
    await callFrame(callee, 'call.incoming', (f) => f.callId === callId);
    // Answered, so that the ring timeout does not end it meanwhile.
    await callee.rt.acceptCall(callId, ANSWER);
    const limited = () => wire.filter((text) => text.includes('"type":"error"') && text.includes('rate_limited')).length;
    const before = limited();
    for (let i = 0; i < 130; i++) caller.rt.signalCall(callId, { ice: { candidate: `candidate:${i} 1 udp 1 127.0.0.1 ${30000 + i} typ host` } });
    await eventually(() => limited() - before === 11, 5000, 'the refusals');
    await settle(300);
    // The invite counted too: 119 signals went through.
    expect(callee.calls.filter((f) => f.type === 'call.signal' && f.callId === callId)).toHaveLength(119);
  });

  it('keeps the call of a device that reconnects within the grace, and ends (gone) that of one that does not', async () => {
    const { chatId, caller, callee } = await pair();
    const { callId } = await caller.rt.inviteCall({ chatId, offer: OFFER });
    await callFrame(callee, 'call.incoming', (f) => f.callId === callId);
    await callee.rt.acceptCall(callId, ANSWER);
    await callFrame(caller, 'call.accepted', (f) => f.callId === callId);

    // Back after 300 ms: the call goes on.
    callee.rt.close();
    await settle(300);
    await callee.rt.connect();
    await settle(1500);
    expect(caller.calls.some((f) => f.type === 'call.ended' && f.callId === callId)).toBe(false);
    caller.rt.signalCall(callId, { ice: null });
    await callFrame(callee, 'call.signal', (f) => f.callId === callId);

    // Gone for good: after the grace the call ends, and the chat says how long it lasted.
    callee.rt.close();
    expect(await callFrame(caller, 'call.ended', (f) => f.callId === callId, 4000)).toMatchObject({ reason: 'gone', by: null });
    await eventually(() => callEvents(caller, callId).length === 1, 5000, 'the call in the chat');
    expect(callEvents(caller, callId)[0]!.call).toMatchObject({ outcome: 'completed' });
    expect(callEvents(caller, callId)[0]!.call!.durationMs).toBeGreaterThan(1000);
  });
});
