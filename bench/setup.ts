// Set-up through the API, with the SDK: an admin invite from the CLI, the admin's invites, then
// register + login for every user and the groups of every layout.
import { execFileSync } from 'node:child_process';
import { ParleyClient, type SessionTokens } from '@parley/sdk';
import { GROUP_SIZE } from './cli.ts';
import { PARLEY_BIN } from './context.ts';
import { log } from './results.ts';
import type { BenchUser } from './shared.ts';
import type { ParleyInstance } from './targets.ts';

export const PASSWORD = 'bench-password-1';

export function username(index: number): string {
  return `user${index}`;
}

export interface Setup {
  users: BenchUser[];
  /** members of every group by chat id: layout 0 is the main workload, layouts 1 and 2 add the "3 groups each" variant */
  groups: Record<string, string[]>;
}

/** Registers n users and puts each in one group of GROUP_SIZE per layout. */
export async function setupUsers(p: ParleyInstance, { users: n, layouts }: { users: number; layouts: number }): Promise<Setup> {
  const t = Date.now();
  const sessions = await registerUsers(p, n);
  const users: BenchUser[] = sessions.map((s, index) => ({ index, id: s.userId, token: s.accessToken, chats: [] }));
  log(`registered ${n} users in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const jobs: { layout: number; members: number[] }[] = [];
  for (let l = 0; l < layouts; l++) {
    const perm = l === 0 ? Array.from({ length: n }, (_, i) => i) : shuffled(n, 7919 * l);
    for (let g = 0; g < n / GROUP_SIZE; g++) jobs.push({ layout: l, members: perm.slice(g * GROUP_SIZE, (g + 1) * GROUP_SIZE) });
  }
  const groups: Record<string, string[]> = {};
  const chatOf: string[][] = Array.from({ length: n }, () => []);
  const createGroup = async ({ layout, members }: { layout: number; members: number[] }) => {
    const owner = new ParleyClient({ baseUrl: p.url, session: sessions[members[0]!]! });
    const chat = await owner.createGroup({ title: `g${layout}`, memberIds: members.slice(1).map((m) => users[m]!.id) });
    groups[chat.id] = members.map((m) => users[m]!.id);
    for (const m of members) chatOf[m]![layout] = chat.id;
  };
  await pool(jobs, createGroup, { parallel: 6 });
  for (let i = 0; i < n; i++) users[i]!.chats = chatOf[i]!;
  log(`created ${jobs.length} groups of ${GROUP_SIZE} in ${((Date.now() - t) / 1000).toFixed(1)} s total`);
  return { users, groups };
}

/** An admin from a CLI invite, invites of 1 000 uses from the admin, and n users signed in once each. */
async function registerUsers(p: ParleyInstance, n: number): Promise<SessionTokens[]> {
  const adminCode = execFileSync(process.execPath, [PARLEY_BIN, 'invite', 'create', '--admin'], { env: p.env, encoding: 'utf8' }).trim().split('\n').pop()!;
  const admin = new ParleyClient({ baseUrl: p.url });
  await admin.register({ inviteCode: adminCode, username: 'benchadmin', password: PASSWORD, displayName: 'Bench admin' });
  await admin.login({ username: 'benchadmin', password: PASSWORD, deviceName: 'bench' });
  const codes: string[] = [];
  for (let i = 0; i < Math.ceil(n / 1000); i++) {
    const { code } = await admin.createInvite({ maxUses: 1000 });
    if (!code) throw new Error('createInvite returned no code');
    codes.push(code);
  }
  const sessions: SessionTokens[] = new Array(n);
  const indexes = Array.from({ length: n }, (_, i) => i);
  const signUp = async (i: number) => {
    const client = new ParleyClient({ baseUrl: p.url });
    const inviteCode = codes[Math.floor(i / 1000)]!;
    await client.register({ inviteCode, username: username(i), password: PASSWORD, displayName: `User ${i}` });
    sessions[i] = await client.login({ username: username(i), password: PASSWORD, deviceName: 'bench' });
  };
  await pool(indexes, signUp, { parallel: 6 });
  return sessions;
}

/** Runs fn over the items, `parallel` at a time. */
export async function pool<T>(items: T[], fn: (item: T, i: number) => Promise<void>, { parallel }: { parallel: number }): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

/** 0 … n-1 in an order fixed by the seed (the same in every run). */
export function shuffled(n: number, seed: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
