import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyClient } from '@parley/sdk';
import { startServer, type RunningServer } from '../src/server.ts';
import { buildConfig } from '../src/config/config.ts';
import { createInvite } from '../src/modules/invites/invites.ts';
import { TestRedis, freshStore, multiNodeUnavailable } from './_multi-node.ts';
import type { TestStore } from './_harness.ts';
import { ANSWER, OFFER, callFrame, codeOf, device, type Device } from './_calls.ts';
import { settle } from './_ws.ts';

const skip = await multiNodeUnavailable();

/** Two nodes in this process on one PostgreSQL database and a Redis of the suite's own: each device picks its node. */
describe.skipIf(skip !== null)('1:1 calls across two nodes (PostgreSQL + Redis)', () => {
  let store: TestStore;
  let redis: TestRedis;
  const nodes: RunningServer[] = [];
  const devices: Device[] = [];

  beforeAll(async () => {
    [store, redis] = await Promise.all([freshStore('postgres'), TestRedis.start()]);
    for (const name of ['node-a', 'node-b']) {
      const config = buildConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        ...store.env,
        REDIS_URL: redis.url,
        PARLEY_NODE_ID: name,
        PARLEY_LOGIN_LIMIT: '1000/60s',
        PARLEY_CALL_GRACE_SECONDS: '1',
        LOG_LEVEL: process.env.PARLEY_TEST_LOG ?? 'silent',
      });
      // One after the other: the first applies the migrations.
      nodes.push(await startServer(config));
    }
  }, 60_000);

  afterAll(async () => {
    for (const d of devices) d.rt.close();
    for (const n of nodes) await n.close();
    await redis?.stop();
    await store?.drop();
  });

  /** A user with one device on each node: [on a, on b]. */
  async function user(name: string): Promise<Device[]> {
    const [a, b] = nodes as [RunningServer, RunningServer];
    const code = (await createInvite(a.ctx, null, {})).code!;
    const client = new ParleyClient({ baseUrl: a.url });
    const password = `pw-${name}-calls`;
    const me = await client.register({ inviteCode: code, username: name, password, displayName: name });
    const u = { id: me.id, username: name, password };
    const list = [await device(a.url, u, 'on-a'), await device(b.url, u, 'on-b')];
    devices.push(...list);
    return list;
  }

  it('rings on both nodes, relays the answer and the candidates to the right device across nodes, and settles the answer race in the store', async () => {
    const [annA, annB] = await user('ann');
    const [bobA, bobB] = await user('bob');
    const chatId = (await annA!.client.createPrivateChat({ userId: bobA!.userId })).id;

    const { callId } = await annA!.rt.inviteCall({ chatId, offer: OFFER });
    for (const d of [bobA!, bobB!])
      expect(await callFrame(d, 'call.incoming', (f) => f.callId === callId)).toMatchObject({ from: { sessionId: annA!.sessionId } });
    expect(await callFrame(annB!, 'call.state', (f) => f.callId === callId)).toMatchObject({ state: 'ringing' });

    // The callee answers on node b; the caller, on node a, gets the answer.
    await bobB!.rt.acceptCall(callId, ANSWER);
    expect(await callFrame(annA!, 'call.accepted', (f) => f.callId === callId)).toMatchObject({ by: { sessionId: bobB!.sessionId }, answer: ANSWER });
    await callFrame(bobA!, 'call.state', (f) => f.callId === callId && f.state === 'answered_elsewhere');

    const fromA = { candidate: 'candidate:1 1 udp 1 127.0.0.1 40000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
    const fromB = { candidate: 'candidate:2 1 udp 1 127.0.0.1 40002 typ host', sdpMid: '0', sdpMLineIndex: 0 };
    annA!.rt.signalCall(callId, { ice: fromA });
    bobB!.rt.signalCall(callId, { ice: fromB });
    expect(await callFrame(bobB!, 'call.signal', (f) => f.callId === callId)).toMatchObject({ ice: fromA, from: { sessionId: annA!.sessionId } });
    expect(await callFrame(annA!, 'call.signal', (f) => f.callId === callId)).toMatchObject({ ice: fromB, from: { sessionId: bobB!.sessionId } });
    await settle(300);
    for (const d of [annB!, bobA!]) expect(d.calls.filter((f) => f.type === 'call.signal')).toEqual([]);

    await annA!.rt.hangupCall(callId);
    for (const d of [annA!, annB!, bobA!, bobB!]) expect(await callFrame(d, 'call.ended', (f) => f.callId === callId)).toMatchObject({ reason: 'hangup' });

    // Devices on two nodes answering at once: one wins, 10 times over.
    for (let round = 0; round < 10; round++) {
      const placed = await annB!.rt.inviteCall({ chatId, offer: OFFER });
      await Promise.all([bobA!, bobB!].map((d) => callFrame(d, 'call.incoming', (f) => f.callId === placed.callId)));
      const results = await Promise.all([bobA!, bobB!].map((d) => codeOf(d.rt.acceptCall(placed.callId, ANSWER))));
      expect([...results].sort()).toEqual(['call_not_ringing', 'ok']);
      const loser = results[0] === 'ok' ? bobB! : bobA!;
      await callFrame(loser, 'call.state', (f) => f.callId === placed.callId && f.state === 'answered_elsewhere');
      await callFrame(annB!, 'call.accepted', (f) => f.callId === placed.callId);
      await annB!.rt.hangupCall(placed.callId);
      await callFrame(loser, 'call.ended', (f) => f.callId === placed.callId);
    }
  });

  it('keeps a call whose device moved to the other node and resumed it within the grace; ends (gone) one that moved without resuming', async () => {
    const [annA] = await user('cat');
    const [, danB] = await user('dan');
    const dan = { id: danB!.userId, username: 'dan', password: 'pw-dan-calls' };
    const chatId = (await annA!.client.createPrivateChat({ userId: danB!.userId })).id;

    /** The call answered on dan's device on node b, which then reconnects to node a (same session). */
    async function moved(resume: boolean): Promise<{ callId: string; danA: Device }> {
      const { callId } = await annA!.rt.inviteCall({ chatId, offer: OFFER });
      await callFrame(danB!, 'call.incoming', (f) => f.callId === callId);
      await danB!.rt.acceptCall(callId, ANSWER);
      await callFrame(annA!, 'call.accepted', (f) => f.callId === callId);
      danB!.rt.close();
      const danA = await device(nodes[0]!.url, dan, 'moved', new ParleyClient({ baseUrl: nodes[0]!.url, session: danB!.client.session }));
      devices.push(danA);
      expect(danA.sessionId).toBe(danB!.sessionId);
      if (resume) {
        const back = await danA.rt.resumeCall(callId);
        expect(back).toMatchObject({ callId, chatId, state: 'active', peer: { userId: annA!.userId, sessionId: annA!.sessionId } });
      }
      return { callId, danA };
    }

    const kept = await moved(true);
    await settle(2000);
    expect(annA!.calls.some((f) => f.type === 'call.ended' && f.callId === kept.callId)).toBe(false);
    annA!.rt.signalCall(kept.callId, { sdp: { type: 'offer', sdp: 'v=0\r\ns=ice-restart\r\n' } });
    await callFrame(kept.danA, 'call.signal', (f) => f.callId === kept.callId && f.sdp?.sdp === 'v=0\r\ns=ice-restart\r\n');
    await annA!.rt.hangupCall(kept.callId);
    await callFrame(kept.danA, 'call.ended', (f) => f.callId === kept.callId);

    // Back on its first node for the second call, then moved again without call.resume.
    kept.danA.rt.close();
    await danB!.rt.connect();
    const lost = await moved(false);
    expect(await callFrame(annA!, 'call.ended', (f) => f.callId === lost.callId, 5000)).toMatchObject({ reason: 'gone' });
  });
});
