// The bench's command line, read into one frozen object. Nothing here runs at import.
//
// Options: --quick  --users N  --rates a,b,c  --duration S  --variant-rates a,b  --idle N
//          --catchup N  --history-messages N  --history-chats N  --history-samples N
//          --files N  --file-mib N  --file-rounds N  --workers N  --no-pin
//          --scale-nodes 1,2,3  --scale-rate R  --e2ee-sends N  --e2ee-ops N
//          --skip sqlite,fanout,variant,baseline,idle,catchup,profile,history,files,scaleout,e2ee

/** Members per group: every user is in one group of the main workload. */
export const GROUP_SIZE = 20;

/** The parts of a run --skip can leave out. */
export type Part = 'sqlite' | 'fanout' | 'variant' | 'baseline' | 'idle' | 'catchup' | 'profile' | 'history' | 'files' | 'scaleout' | 'e2ee';

export interface BenchOptions {
  /** the arguments as given, for the report's command line */
  readonly argv: readonly string[];
  readonly quick: boolean;
  readonly users: number;
  /** sends per second of each fan-out step, rising */
  readonly rates: readonly number[];
  readonly variantRates: readonly number[];
  /** seconds per fan-out step */
  readonly duration: number;
  /** sockets opened for the idle-memory figure */
  readonly idle: number;
  /** messages a device catches up on */
  readonly catchup: number;
  readonly historyMessages: number;
  readonly historyChats: number;
  readonly historySamples: number;
  /** files uploaded and downloaded, and the size of each */
  readonly files: number;
  readonly fileMiB: number;
  /** rounds of the file transfers, Parley and the floor taking turns */
  readonly fileRounds: number;
  /** node counts of the scale-out scenario (PostgreSQL + Redis), and its one rate */
  readonly scaleNodes: readonly number[];
  readonly scaleRate: number;
  /** sends per mode (plaintext, E2EE) of the E2EE scenario, and repetitions of each client-side MLS operation */
  readonly e2eeSends: number;
  readonly e2eeOps: number;
  /** load-generator processes */
  readonly workers: number;
  /** pin server and generator to separate cores when taskset is available */
  readonly pin: boolean;
  readonly skip: ReadonlySet<string>;
  /** a fan-out step with a higher p99 fails */
  readonly p99LimitMs: number;
}

/** Reads the options (defaults depend on --quick); throws on a user count that does not form groups. */
export function parseOptions(argv: readonly string[]): BenchOptions {
  const flag = (name: string) => argv.includes(`--${name}`);
  const opt = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string, fallback: number) => Number(opt(name) ?? fallback);
  const nums = (name: string, fallback: number[]) => Object.freeze(opt(name)?.split(',').map(Number) ?? fallback);
  const quick = flag('quick');
  const options: BenchOptions = {
    argv: Object.freeze([...argv]),
    quick,
    users: num('users', quick ? 100 : 1000),
    rates: nums('rates', quick ? [100, 400] : [100, 250, 500, 1000, 1500, 2000, 3000, 4000, 6000]),
    variantRates: nums('variant-rates', quick ? [200] : [100, 250, 500, 1000, 2000, 3000]),
    duration: num('duration', quick ? 3 : 8),
    idle: num('idle', quick ? 1000 : 10_000),
    catchup: num('catchup', quick ? 1000 : 10_000),
    historyMessages: num('history-messages', quick ? 20_000 : 1_000_000),
    historyChats: num('history-chats', quick ? 100 : 1000),
    historySamples: num('history-samples', quick ? 100 : 2000),
    files: num('files', quick ? 2 : 4),
    fileMiB: num('file-mib', quick ? 16 : 64),
    fileRounds: num('file-rounds', quick ? 1 : 5),
    scaleNodes: nums('scale-nodes', [1, 2, 3]),
    scaleRate: num('scale-rate', quick ? 100 : 300),
    e2eeSends: num('e2ee-sends', quick ? 200 : 2000),
    e2eeOps: num('e2ee-ops', quick ? 20 : 100),
    workers: num('workers', 2),
    pin: !flag('no-pin'),
    skip: new Set((opt('skip') ?? '').split(',').filter(Boolean)),
    p99LimitMs: 200,
  };
  if (options.users % GROUP_SIZE !== 0) throw new Error(`--users must be a multiple of ${GROUP_SIZE} (groups of ${GROUP_SIZE})`);
  return Object.freeze(options);
}

/** Whether a part of the run is on (not named in --skip). */
export function runs(options: BenchOptions, part: Part): boolean {
  return !options.skip.has(part);
}
