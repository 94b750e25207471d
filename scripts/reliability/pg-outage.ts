// Scenario 3: one node on a private PostgreSQL cluster under load; the cluster is stopped with
// `pg_ctl stop -m immediate` (a crash) for 10 s and started again. Nothing acked may be lost,
// requests during the cut must get 503 (no other 5xx), and the node must recover by itself.
import { setTimeout as sleep } from 'node:timers/promises';
import { allAcked, audit, mergeCounts, Prober, Sender, setupGroup, type Phase } from './clients.ts';
import { log, type Harness } from './harness.ts';
import { readyz } from './redis-outage.ts';
import { auditChecks, firstAfter, formatCounts, uncleanAnswers, type ScenarioResult } from './result.ts';
import { PrivateCluster } from './services.ts';

const OUTAGE_MS = 10_000;

export async function pgOutage(h: Harness): Promise<ScenarioResult> {
  const t0 = Date.now();
  const cluster = await PrivateCluster.create(h);
  const node = await h.startNode('pg', { name: 'postgres', databaseUrl: cluster.url });
  const pid = node.proc.pid;
  const { chatId, users } = await setupGroup(node, 2);
  const phase: Phase = { current: 'before' };
  const senders = users.map((user, i) => new Sender(`p${i}`, { node, user, chatId, phase }));
  await Promise.all(senders.map((s) => s.connect()));
  const prober = new Prober('ph', { node, user: users[0]!, chatId, phase });
  for (const s of senders) s.startLoad({ intervalMs: 100, window: 3 });
  prober.start(100);

  await sleep(6000);
  cluster.stopImmediate();
  phase.current = 'outage';
  const cutAt = Date.now();
  log('  private PostgreSQL stopped (immediate)');
  await sleep(OUTAGE_MS / 2);
  const readyDuring = await readyz(node);
  await sleep(cutAt + OUTAGE_MS - Date.now());
  cluster.start();
  const backAt = Date.now();
  phase.current = 'after';
  log('  private PostgreSQL started again');
  await sleep(10_000);

  await prober.stop();
  const pendingAtEnd = (await Promise.all(senders.map((s) => s.drain(30_000)))).reduce((x, y) => x + y, 0);
  const result = await audit(node, users[0]!, chatId, allAcked([...senders, prober]));
  const readyAfter = await readyz(node);
  for (const s of senders) s.close();

  const httpBack = firstAfter(prober.okTimes, backAt);
  const wsBack = firstAfter(
    senders.flatMap((s) => s.ackTimes),
    backAt,
  );
  const statuses = prober.statuses;
  const frames = mergeCounts(senders.map((s) => s.frames));
  const wsUnclean = Object.values(frames).reduce((n, row) => n + Object.entries(row).reduce((m, [k, v]) => m + (k === 'error:internal_error' ? v : 0), 0), 0);
  const unclean = uncleanAnswers(statuses);
  const restarted = node.proc.pid !== pid || node.proc.exitCode !== null;
  return {
    scenario: 'postgres',
    title: `PostgreSQL stopped (immediate) for ${OUTAGE_MS / 1000} s under load on one node`,
    figures: {
      messagesSent: senders.reduce((n, s) => n + s.sent, 0) + prober.sent,
      acked: result.acked,
      stored: result.stored,
      ackedLost: result.lost,
      duplicated: result.duplicated,
      httpStatuses: formatCounts(statuses),
      wsFrames: formatCounts(frames),
      uncleanAnswers: unclean + wsUnclean,
      readyzDuringOutage: readyDuring,
      readyzAfter: readyAfter,
      httpRecoveryMs: httpBack,
      wsRecoveryMs: wsBack,
      nodeRestarts: restarted ? 1 : 0,
      durationS: Math.round((Date.now() - t0) / 1000),
    },
    checks: [
      ...auditChecks(result),
      { name: 'requests during the cut got 503 (no other 5xx, no timeout)', ok: unclean + wsUnclean === 0, detail: formatCounts(statuses) },
      { name: 'the outage was seen (503s during the cut)', ok: (statuses.outage?.['503'] ?? 0) > 0 },
      { name: 'HTTP and WebSocket sends work again, node not restarted', ok: httpBack !== null && wsBack !== null && !restarted },
      { name: 'readyz 200 again', ok: readyAfter.startsWith('200') },
      { name: 'every send acked in the end', ok: pendingAtEnd === 0, detail: `${pendingAtEnd} pending` },
    ],
  };
}
