// The load generator as the orchestrator sees it: worker processes (load-worker.ts), each holding
// a share of the sockets, driven over IPC with the messages typed in shared.ts.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { BENCH_DIR } from './context.ts';
import { procCpuUs, type Processes } from './procs.ts';
import type { BenchUser, FromWorker, ToWorker } from './shared.ts';
import type { Target } from './targets.ts';

type Reply<T extends FromWorker['type']> = Extract<FromWorker, { type: T }>;

export class Generator {
  readonly workers: ChildProcess[] = [];
  private readonly waiting = new Map<ChildProcess, ((m: FromWorker) => void)[]>();
  private readonly procs: Processes;

  constructor(procs: Processes) {
    this.procs = procs;
  }

  /** Forks n workers, waits until each is ready and pins them to the generator's cores. */
  async start(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const w = fork(path.join(BENCH_DIR, 'load-worker.ts'), [], {
        execArgv: ['--import', 'tsx'],
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: { ...process.env, NODE_OPTIONS: '' },
      });
      this.procs.track(w);
      this.waiting.set(w, []);
      w.on('message', (m: FromWorker) => this.waiting.get(w)!.shift()?.(m));
      this.workers.push(w);
    }
    await Promise.all(this.workers.map((w) => this.next(w)));
    for (const w of this.workers) this.procs.pinGenerator(w.pid);
  }

  private next(w: ChildProcess): Promise<FromWorker> {
    return new Promise((resolve) => this.waiting.get(w)!.push(resolve));
  }

  /** Sends a command to every worker (or each its own) and waits for every reply. */
  async all(msg: ToWorker | ((i: number) => ToWorker)): Promise<FromWorker[]> {
    return Promise.all(
      this.workers.map((w, i) => {
        const reply = this.next(w);
        w.send(typeof msg === 'function' ? msg(i) : msg);
        return reply;
      }),
    );
  }

  /** Sends without waiting for a reply (the step command has none). */
  broadcast(msg: ToWorker): void {
    for (const w of this.workers) w.send(msg);
  }

  /** Opens perUser sockets for every user, each user's on one worker, spread over the local addresses. */
  async connect(
    url: string,
    users: BenchUser[],
    { perUser = 1, localAddresses = [] }: { perUser?: number; localAddresses?: string[] } = {},
  ): Promise<{ open: number; failed: number }> {
    const share = (i: number) => users.filter((u) => u.index % this.workers.length === i);
    const replies = (await this.all((i) => ({ cmd: 'connect', url, users: share(i), perUser, localAddresses }))) as Reply<'connected'>[];
    return { open: replies.reduce((a, r) => a + r.open, 0), failed: replies.reduce((a, r) => a + r.failed, 0) };
  }

  /** Like connect, for a workload that needs every socket: throws when any failed. */
  async connectAll(target: Target, users: BenchUser[]): Promise<void> {
    const c = await this.connect(target.wsUrl, users);
    if (c.failed) throw new Error(`${c.failed} ${target.name === 'baseline' ? 'baseline sockets' : 'sockets'} failed to connect`);
  }

  async progress(): Promise<Reply<'progress'>[]> {
    return (await this.all({ cmd: 'progress' })) as Reply<'progress'>[];
  }

  async collect(): Promise<Reply<'collected'>[]> {
    return (await this.all({ cmd: 'collect' })) as Reply<'collected'>[];
  }

  async close(): Promise<void> {
    await this.all({ cmd: 'close' });
  }

  /** worker CPU since process start, in µs */
  cpuUs(): number {
    let t = 0;
    for (const w of this.workers) if (w.pid) t += procCpuUs(w.pid);
    return t;
  }

  async stop(): Promise<void> {
    for (const w of this.workers) w.send({ cmd: 'exit' } satisfies ToWorker);
    await Promise.all(this.workers.map((w) => (w.exitCode === null ? new Promise((r) => w.once('exit', r)) : null)));
  }
}
