// History paging: after a warm-up, random chats of the seeded history, the latest page and a
// page at the oldest end, sequentially over one keep-alive connection; p50/p99 as the client
// sees them. The floor: the same query on the SQLite file with better-sqlite3.
import http from 'node:http';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import type { Message } from '@parley/sdk';
import { round, type HistoryRow, type PageTimes } from '../rows.ts';
import { log } from '../results.ts';
import { nowMs, percentile } from '../shared.ts';
import { shuffled } from '../setup.ts';
import type { ParleyInstance } from '../targets.ts';

const PAGE = 100;

/** The chats to page through and the request order, the same in every run. */
interface Sampling {
  chatIds: string[];
  perChat: number;
  samples: number;
  rnd: number[];
}

export async function history(p: ParleyInstance, token: string, seeded: { chatIds: string[]; perChat: number; samples: number }): Promise<HistoryRow> {
  const sampling: Sampling = { ...seeded, rnd: shuffled(seeded.samples * 2, 42) };
  const pages = new PageClient(p.url, token);
  const times = await timePages(pages, sampling);
  pages.close();
  const raw = p.store === 'sqlite' ? rawPageTimes(path.join(p.dataDir, 'parley.sqlite'), sampling) : null;
  const { chatIds, perChat, samples } = sampling;
  const row: HistoryRow = {
    kind: 'history',
    target: 'parley',
    store: p.store,
    messages: chatIds.length * perChat,
    chats: chatIds.length,
    samples,
    ...times,
    raw,
  };
  log(
    `history (${row.messages} messages, ${row.chats} chats): latest page p50 ${row.latestP50} p99 ${row.latestP99} ms; ` +
      `deep page p50 ${row.deepP50} p99 ${row.deepP99} ms${raw ? `; raw SQLite ${JSON.stringify(raw)}` : ''}`,
  );
  return row;
}

async function timePages(pages: PageClient, { chatIds, perChat, samples, rnd }: Sampling): Promise<PageTimes> {
  // Warm-up: the server was just restarted after seeding, and the first few hundred requests
  // include compiling the route's code; steady-state latency is what a running server gives.
  for (let i = 0; i < 500; i++) await pages.get(chatIds[(i * 7) % chatIds.length]!, i % 2 ? 150 : undefined);
  const latest: number[] = [];
  const deep: number[] = [];
  for (let i = 0; i < samples; i++) {
    const chatId = chatIds[rnd[i]! % chatIds.length]!;
    let s = nowMs();
    const a = await pages.get(chatId);
    latest.push(nowMs() - s);
    if (a.messages.length !== Math.min(PAGE, perChat)) throw new Error(`latest page had ${a.messages.length} messages`);
    s = nowMs();
    await pages.get(chatId, deepBefore(rnd[i + samples]!, perChat));
    deep.push(nowMs() - s);
  }
  return pageTimes(latest, deep);
}

/** A position within the first 200 of the chat, i.e. a page at its oldest end. */
function deepBefore(r: number, perChat: number): number {
  return 101 + (r % Math.max(1, Math.min(100, perChat - 200)));
}

function pageTimes(latest: number[], deep: number[]): PageTimes {
  latest.sort((a, b) => a - b);
  deep.sort((a, b) => a - b);
  return {
    latestP50: round(percentile(latest, 50), 2),
    latestP99: round(percentile(latest, 99), 2),
    deepP50: round(percentile(deep, 50), 2),
    deepP99: round(percentile(deep, 99), 2),
  };
}

/** The floor: the same page queries straight on the SQLite file, rows serialised to JSON. */
function rawPageTimes(file: string, { chatIds, perChat, samples, rnd }: Sampling): PageTimes {
  const db = new SQLite(file, { readonly: true });
  const q = db.prepare('select * from messages where chat_id = ? and seq < ? order by seq desc limit 101');
  const latest: number[] = [];
  const deep: number[] = [];
  for (let i = 0; i < samples; i++) {
    const chatId = chatIds[rnd[i]! % chatIds.length]!;
    let s = nowMs();
    JSON.stringify(q.all(chatId, Number.MAX_SAFE_INTEGER));
    latest.push(nowMs() - s);
    s = nowMs();
    JSON.stringify(q.all(chatId, deepBefore(rnd[i + samples]!, perChat)));
    deep.push(nowMs() - s);
  }
  db.close();
  return pageTimes(latest, deep);
}

/**
 * GET listMessages over one kept-alive connection with node:http: the history pages are timed as a
 * lean client sees them, without the extra work of `fetch` (its streams cost the client about
 * 0.25 ms a page here), which is why this does not go through the SDK.
 */
class PageClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private readonly base: string;
  private readonly token: string;

  constructor(base: string, token: string) {
    this.base = base;
    this.token = token;
  }

  get(chatId: string, before?: number): Promise<{ messages: Message[]; hasMore: boolean }> {
    const p = `/chats/${chatId}/messages?limit=${PAGE}${before === undefined ? '' : `&before=${before}`}`;
    return new Promise((resolve, reject) => {
      const req = http.get(`${this.base}/api/v1${p}`, { agent: this.agent, headers: { authorization: `Bearer ${this.token}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200) reject(new Error(`GET ${p}: ${res.statusCode} ${text.slice(0, 300)}`));
          else resolve(JSON.parse(text));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
