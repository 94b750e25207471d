// Scenario 1: a node killed with SIGKILL again and again under a steady WebSocket send load,
// restarted on the same port and data each time; then every acked message must be stored once.
import { setTimeout as sleep } from 'node:timers/promises';
import type { StoreMode } from '../../bench/stores.ts';
import { allAcked, audit, Sender, setupGroup, type Phase } from './clients.ts';
import { between, log, type Harness } from './harness.ts';
import { auditChecks, type ScenarioResult } from './result.ts';

const CLIENTS = 3;

export async function kill9(h: Harness, store: StoreMode, { kills }: { kills: number }): Promise<ScenarioResult> {
  const t0 = Date.now();
  const node = await h.startNode(`kill9-${store.name}`, store);
  const { chatId, users } = await setupGroup(node, CLIENTS);
  const phase: Phase = { current: 'load' };
  const senders = users.map((user, i) => new Sender(`k${i}`, { node, user, chatId, phase }));
  await Promise.all(senders.map((s) => s.connect()));
  for (const s of senders) s.startLoad({ intervalMs: 40, window: 4 });

  const restartMs: number[] = [];
  const ackedAtKill: number[] = [];
  for (let i = 0; i < kills; i++) {
    await sleep(between(1000, 3000));
    ackedAtKill.push(senders.reduce((n, s) => n + s.acked.size, 0));
    await h.killNode(node);
    restartMs.push(await h.restartNode(node));
    if ((i + 1) % 10 === 0) log(`  ${i + 1}/${kills} kills, ${ackedAtKill[i]} acked so far`);
  }
  // Let the clients settle on the last process, then stop sending and wait for the last acks.
  await sleep(2000);
  const pendingAtEnd = (await Promise.all(senders.map((s) => s.drain(30_000)))).reduce((a, b) => a + b, 0);
  const result = await audit(node, users[0]!, chatId, allAcked(senders));
  for (const s of senders) s.close();

  const sent = senders.reduce((n, s) => n + s.sent, 0);
  const failed = senders.reduce((n, s) => n + s.failed, 0);
  const mean = restartMs.reduce((a, b) => a + b, 0) / Math.max(1, restartMs.length);
  return {
    scenario: `kill9-${store.name}`,
    title: `${kills} × kill -9 under WebSocket send load (${store.name})`,
    figures: {
      store: store.name,
      clients: CLIENTS,
      kills,
      restarts: restartMs.length,
      messagesSent: sent,
      acked: result.acked,
      stored: result.stored,
      ackedLost: result.lost,
      duplicated: result.duplicated,
      ackedWithOtherId: result.changed,
      failedSends: failed,
      pendingAtEnd,
      restartToHealthyMsMean: Math.round(mean),
      restartToHealthyMsMax: Math.max(...restartMs),
      durationS: Math.round((Date.now() - t0) / 1000),
    },
    checks: [
      ...auditChecks(result),
      { name: 'every acked message stored under its acked id', ok: result.changed === 0, detail: `${result.changed}` },
      { name: `${kills} restarts, each healthy again`, ok: restartMs.length === kills },
      { name: 'every send acked in the end', ok: pendingAtEnd === 0 && failed === 0, detail: `${pendingAtEnd} pending, ${failed} failed` },
    ],
  };
}
