// Scenario 2: two nodes on one PostgreSQL database and a private Redis; Redis is killed for 10 s
// under load on both nodes, then started again on its port. Nothing acked may be lost, requests
// must get clean answers, and cross-node delivery must come back without restarting a node.
import { setTimeout as sleep } from 'node:timers/promises';
import { ParleyClient } from '@parley/sdk';
import { allAcked, audit, mergeCounts, Prober, Sender, setupGroup, undelivered, type Phase, type Receipt } from './clients.ts';
import { log, type Harness, type Node } from './harness.ts';
import { auditChecks, firstAfter, formatCounts, uncleanAnswers, type ScenarioResult } from './result.ts';
import { createDatabase, LOCAL_POSTGRES, PrivateRedis } from './services.ts';

const OUTAGE_MS = 10_000;

export async function redisOutage(h: Harness): Promise<ScenarioResult> {
  const t0 = Date.now();
  const redis = await PrivateRedis.start(h);
  const store = { name: 'postgres+redis', databaseUrl: await createDatabase(h, LOCAL_POSTGRES, 'redis'), redisUrl: redis.url };
  const a = await h.startNode('redis-a', store);
  const b = await h.startNode('redis-b', store);
  const pids = [a.proc.pid, b.proc.pid];
  const { chatId, users } = await setupGroup(a, 6, 4);
  const phase: Phase = { current: 'before' };
  const nodeOf = [a, a, b, b];
  const senders = users.slice(0, 4).map((user, i) => new Sender(`r${i}`, { node: nodeOf[i]!, user, chatId, phase }));
  // Two probe chats with a single sender each, on the other node from its reader: nothing else is
  // posted there, so no gap makes the reader sync, and a message reaches it only through the bus
  // (live, or the sync a resync frame starts once the bus is back).
  const toB = await new ParleyClient({ baseUrl: a.url, session: users[4]!.session }).createGroup({ title: 'a to b', memberIds: [users[5]!.userId] });
  const toA = await new ParleyClient({ baseUrl: b.url, session: users[5]!.session }).createGroup({ title: 'b to a', memberIds: [users[4]!.userId] });
  const probeA = new Sender('pa', { node: a, user: users[4]!, chatId: toB.id, phase });
  const probeB = new Sender('pb', { node: b, user: users[5]!, chatId: toA.id, phase });
  await Promise.all([...senders, probeA, probeB].map((s) => s.connect()));
  for (const s of [probeA, probeB]) s.startLoad({ intervalMs: 100, window: 1 });
  const probers = [new Prober('ra', { node: a, user: users[0]!, chatId, phase }), new Prober('rb', { node: b, user: users[2]!, chatId, phase })];
  for (const s of senders) s.startLoad({ intervalMs: 100, window: 3 });
  for (const p of probers) p.start(100);

  await sleep(8000);
  await redis.kill();
  phase.current = 'outage';
  const killedAt = Date.now();
  log('  private Redis killed');
  await sleep(OUTAGE_MS / 2);
  const readyDuring = await Promise.all([a, b].map(readyz));
  await sleep(killedAt + OUTAGE_MS - Date.now());
  await redis.start();
  const backAt = Date.now();
  phase.current = 'after';
  log('  private Redis started again');
  await sleep(10_000);

  for (const p of probers) await p.stop();
  const pendingAtEnd = (await Promise.all([...senders, probeA, probeB].map((s) => s.drain(30_000)))).reduce((x, y) => x + y, 0);
  // Time for the last events to reach every client before the delivery check.
  await sleep(2000);
  const main = await audit(a, users[0]!, chatId, allAcked([...senders, ...probers]));
  const probeAudits = [await audit(a, users[4]!, toB.id, probeA.acked), await audit(b, users[5]!, toA.id, probeB.acked)];
  const result = [main, ...probeAudits].reduce((x, y) => ({
    ...x,
    acked: x.acked + y.acked,
    stored: x.stored + y.stored,
    lost: x.lost + y.lost,
    duplicated: x.duplicated + y.duplicated,
  }));
  const readyAfter = await Promise.all([a, b].map(readyz));
  for (const s of [...senders, probeA, probeB]) s.close();

  // Cross-node delivery again: the first probe created after Redis came back that reached its reader.
  const receipts = (reader: Sender, probeChat: string) => [...reader.received.values()].filter((r) => r.chatId === probeChat);
  const aToB = firstAfter(
    receipts(probeB, toB.id)
      .filter((r) => r.createdAt >= backAt)
      .map((r) => r.at),
    backAt,
  );
  const bToA = firstAfter(
    receipts(probeA, toA.id)
      .filter((r) => r.createdAt >= backAt)
      .map((r) => r.at),
    backAt,
  );
  // While the bus is down no probe may arrive (it shows the outage was real); in the group chat,
  // messages from the other node still arrive, through the sync a gap in the chat's positions starts.
  const duringOutage = (r: Receipt) => r.createdAt >= killedAt + 1000 && r.at < backAt;
  const probesDuringOutage = [...receipts(probeB, toB.id), ...receipts(probeA, toA.id)].filter(duringOutage).length;
  const onA = new Set([users[0]!.userId, users[1]!.userId]);
  const groupCrossDuringOutage = senders.reduce(
    (n, s, i) => n + [...s.received.values()].filter((r) => r.chatId === chatId && onA.has(r.senderId) !== i < 2 && duringOutage(r)).length,
    0,
  );
  const statuses = mergeCounts(probers.map((p) => p.statuses));
  const frames = mergeCounts(senders.map((s) => s.frames));
  const missed =
    senders.reduce((n, s) => n + undelivered(s, main.messages), 0) +
    undelivered(probeB, probeAudits[0]!.messages) +
    undelivered(probeA, probeAudits[1]!.messages);
  const restarted = [a, b].some((n, i) => n.proc.pid !== pids[i] || n.proc.exitCode !== null);
  const unclean = uncleanAnswers(statuses);
  return {
    scenario: 'redis',
    title: `Redis killed for ${OUTAGE_MS / 1000} s under load on two nodes (PostgreSQL + Redis)`,
    figures: {
      messagesSent: [...senders, probeA, probeB].reduce((n, s) => n + s.sent, 0) + probers.reduce((n, p) => n + p.sent, 0),
      acked: result.acked,
      stored: result.stored,
      ackedLost: result.lost,
      duplicated: result.duplicated,
      httpStatuses: formatCounts(statuses),
      wsFrames: formatCounts(frames),
      uncleanAnswers: unclean,
      readyzDuringOutage: readyDuring.join(' | '),
      readyzAfter: readyAfter.join(' | '),
      crossNodeDeliveryAfterRedisBackMs: aToB === null || bToA === null ? null : Math.max(aToB, bToA),
      crossNodeAtoBMs: aToB,
      crossNodeBtoAMs: bToA,
      probesReceivedDuringOutage: probesDuringOutage,
      groupCrossNodeReceivedDuringOutageBySync: groupCrossDuringOutage,
      undeliveredAtEnd: missed,
      nodeRestarts: restarted ? 1 : 0,
      durationS: Math.round((Date.now() - t0) / 1000),
    },
    checks: [
      ...auditChecks(result),
      { name: 'clean answers during the outage (no 5xx but 503, no timeout)', ok: unclean === 0, detail: formatCounts(statuses) },
      { name: 'cross-node delivery again after Redis is back', ok: aToB !== null && bToA !== null, detail: `A→B ${aToB} ms, B→A ${bToA} ms` },
      { name: 'no probe crossed nodes while Redis was down', ok: probesDuringOutage === 0, detail: `${probesDuringOutage}` },
      { name: 'every client got every message of the others in the end', ok: missed === 0, detail: `${missed} missing` },
      { name: 'both nodes ready again, not restarted', ok: !restarted && readyAfter.every((r) => r.startsWith('200')) },
      { name: 'every send acked in the end', ok: pendingAtEnd === 0, detail: `${pendingAtEnd} pending` },
    ],
  };
}

/** `/readyz` as `status body`. */
export async function readyz(node: Node): Promise<string> {
  try {
    const res = await fetch(`${node.url}/readyz`, { signal: AbortSignal.timeout(5000) });
    return `${res.status} ${(await res.text()).trim()}`;
  } catch (err) {
    return `no answer (${(err as Error).message})`;
  }
}
