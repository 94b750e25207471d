// Idle memory: RSS of a freshly started server, then again with `sockets` authenticated sockets
// open (several per user, spread over local source addresses so that one address's ports do not
// run out), read after 4 s as the median of three readings a second apart.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Generator } from '../generator.ts';
import { procRssKiB } from '../procs.ts';
import { log } from '../results.ts';
import { mib, round, type IdleRow } from '../rows.ts';
import type { BenchUser } from '../shared.ts';
import type { Target } from '../targets.ts';

const LOCAL_ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];

export async function idleMemory(gen: Generator, target: Target, { users, sockets }: { users: BenchUser[]; sockets: number }): Promise<IdleRow> {
  const pid = target.proc.pid!;
  await sleep(2000);
  const rss0 = procRssKiB(pid);
  const perUser = Math.ceil(sockets / users.length);
  const { open, failed } = await gen.connect(target.wsUrl, users, { perUser, localAddresses: LOCAL_ADDRESSES });
  await sleep(4000);
  const readings: number[] = [];
  for (let i = 0; i < 3; i++) {
    await sleep(1000);
    readings.push(procRssKiB(pid));
  }
  const rss1 = readings.sort((a, b) => a - b)[1]!;
  await gen.close();
  const perSocketKiB = round((rss1 - rss0) / open, 2);
  const rss = `RSS ${(rss0 / 1024).toFixed(1)} -> ${(rss1 / 1024).toFixed(1)} MiB`;
  log(`${target.name} idle: ${open} sockets (${failed} failed), ${rss} = ${perSocketKiB} KiB per socket`);
  await sleep(2000);
  return {
    kind: 'idle',
    target: target.name,
    store: target.store,
    sockets: open,
    failed,
    users: users.length,
    socketsPerUser: perUser,
    rssBeforeMiB: mib(rss0),
    rssAfterMiB: mib(rss1),
    perSocketKiB,
  };
}
