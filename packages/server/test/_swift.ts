import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from './_multi-node.ts';

/**
 * OpenStack Swift with its S3 API (the Debian packages swift, swift-proxy, swift-account,
 * swift-container and swift-object), started for a test in a temp dir: one device, rings of one
 * replica, tempauth user test:tester / testing, the proxy on an ephemeral 127.0.0.1 port. It checks
 * signatures and part sizes like S3 does, which the npm S3 mocks do not (docs/files.md).
 */
export interface Swift {
  /** The S3 endpoint: http://127.0.0.1:<port> */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** The environment a Parley server needs to store its blobs in this bucket. */
  env: Record<string, string>;
  /** Stops the four processes by PID and removes the directory. */
  stop(): Promise<void>;
}

const BINARIES = ['swift-proxy-server', 'swift-account-server', 'swift-container-server', 'swift-object-server'];
const BIN_DIR = '/usr/bin';

/** Why Swift cannot run here, or null. Under CI=true a missing Swift is an error, never a skip. */
export function swiftUnavailable(): string | null {
  const missing = BINARIES.filter((b) => !existsSync(path.join(BIN_DIR, b)));
  const reason =
    missing.length > 0
      ? `OpenStack Swift is not installed (${missing.join(', ')} missing; apt-get install swift swift-proxy swift-account swift-container swift-object)`
      : null;
  if (reason && process.env.CI === 'true') throw new Error(`The S3 suites must run under CI: ${reason}`);
  if (reason) console.warn(`Skipping the S3 suite: ${reason}`);
  return reason;
}

function conf(sections: Record<string, Record<string, string>>): string {
  return Object.entries(sections)
    .map(
      ([name, values]) =>
        `[${name}]\n${Object.entries(values)
          .map(([k, v]) => `${k} = ${v}`)
          .join('\n')}\n`,
    )
    .join('\n');
}

// The three rings (one device, one replica, 16 partitions), built in one Python process: the
// swift-ring-builder command would take three calls per ring at about a second each.
const RINGS = `
import sys
from swift.common.ring import RingBuilder
etc = sys.argv[1]
for kind, port in zip(('account', 'container', 'object'), sys.argv[2:5]):
    b = RingBuilder(4, 1, 1)
    b.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': int(port), 'device': 'd1', 'weight': 1})
    b.rebalance()
    b.get_ring().save('%s/%s.ring.gz' % (etc, kind))
`;

function buildRings(etc: string, ports: number[]): void {
  const r = spawnSync('/usr/bin/python3', ['-c', RINGS, etc, ...ports.map(String)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the Swift rings failed: ${r.stdout}${r.stderr}`);
}

/** Starts Swift and creates `bucket`. Ready in about 5–15 s on a loaded 2-core machine. */
export async function startSwift(options: { bucket?: string } = {}): Promise<Swift> {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-swift-'));
  const etc = path.join(dir, 'etc');
  const devices = path.join(dir, 'srv');
  for (const d of [etc, path.join(devices, 'd1'), path.join(dir, 'cache'), path.join(dir, 'run')]) mkdirSync(d, { recursive: true });
  const [proxyPort, accountPort, containerPort, objectPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const user = userInfo().username;
  const common = {
    swift_dir: etc,
    devices,
    mount_check: 'false',
    bind_ip: '127.0.0.1',
    user,
    workers: '0',
    log_level: 'WARNING',
    log_address: path.join(dir, 'no-syslog'),
    recon_cache_path: path.join(dir, 'cache'),
  };
  writeFileSync(
    path.join(etc, 'swift.conf'),
    conf({
      'swift-hash': { swift_hash_path_suffix: 'parley-test', swift_hash_path_prefix: 'parley-test' },
      'storage-policy:0': { name: 'Policy-0', default: 'yes' },
    }),
  );
  for (const [kind, port] of [
    ['account', accountPort],
    ['container', containerPort],
    ['object', objectPort],
  ] as const) {
    writeFileSync(
      path.join(etc, `${kind}-server.conf`),
      conf({
        DEFAULT: { ...common, bind_port: String(port) },
        'pipeline:main': { pipeline: `${kind}-server` },
        [`app:${kind}-server`]: { use: `egg:swift#${kind}` },
        [`${kind}-replicator`]: {},
        [`${kind}-updater`]: {},
        [`${kind}-auditor`]: {},
      }),
    );
  }
  buildRings(etc, [accountPort, containerPort, objectPort]);
  writeFileSync(
    path.join(etc, 'proxy-server.conf'),
    conf({
      DEFAULT: { ...common, bind_port: String(proxyPort) },
      'pipeline:main': {
        pipeline: 'catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl s3api tempauth copy slo dlo proxy-logging proxy-server',
      },
      'app:proxy-server': { use: 'egg:swift#proxy', account_autocreate: 'true', allow_account_management: 'true' },
      'filter:tempauth': { use: 'egg:swift#tempauth', user_test_tester: 'testing .admin' },
      'filter:s3api': { use: 'egg:swift#s3api', location: 'us-east-1', s3_acl: 'false' },
      'filter:catch_errors': { use: 'egg:swift#catch_errors' },
      'filter:gatekeeper': { use: 'egg:swift#gatekeeper' },
      'filter:healthcheck': { use: 'egg:swift#healthcheck' },
      'filter:proxy-logging': { use: 'egg:swift#proxy_logging' },
      // tempauth insists on a memcache client; with no memcached its lookups just miss.
      'filter:cache': { use: 'egg:swift#memcache', memcache_servers: '127.0.0.1:1' },
      'filter:listing_formats': { use: 'egg:swift#listing_formats' },
      'filter:bulk': { use: 'egg:swift#bulk' },
      'filter:tempurl': { use: 'egg:swift#tempurl' },
      'filter:copy': { use: 'egg:swift#copy' },
      'filter:slo': { use: 'egg:swift#slo' },
      'filter:dlo': { use: 'egg:swift#dlo' },
    }),
  );

  const procs: ChildProcess[] = [];
  const output: string[] = [];
  const stop = async () => {
    await Promise.all(
      procs.map(async (p) => {
        if (p.exitCode !== null || p.signalCode !== null) return;
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const kind of ['account', 'container', 'object', 'proxy']) {
      const child = spawn(path.join(BIN_DIR, `swift-${kind}-server`), [path.join(etc, `${kind}-server.conf`)], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
      });
      child.stdout!.setEncoding('utf8').on('data', (d: string) => output.push(`${kind}: ${d}`));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => output.push(`${kind}: ${d}`));
      procs.push(child);
    }
    const endpoint = `http://127.0.0.1:${proxyPort}`;
    await waitFor(
      'the Swift proxy to answer /healthcheck',
      async () => {
        const dead = procs.find((p) => p.exitCode !== null);
        if (dead) throw new Error(`a Swift process exited: ${output.join('')}`);
        return (await fetch(`${endpoint}/healthcheck`, { signal: AbortSignal.timeout(1000) })).ok;
      },
      60_000,
      200,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${output.join('')}`);
    });
    const swift: Swift = {
      endpoint,
      bucket: options.bucket ?? 'parley-test',
      accessKeyId: 'test:tester',
      secretAccessKey: 'testing',
      region: 'us-east-1',
      env: {},
      stop,
    };
    swift.env = {
      PARLEY_BLOB_STORE: 's3',
      PARLEY_S3_ENDPOINT: swift.endpoint,
      PARLEY_S3_BUCKET: swift.bucket,
      PARLEY_S3_REGION: swift.region,
      PARLEY_S3_ACCESS_KEY_ID: swift.accessKeyId,
      PARLEY_S3_SECRET_ACCESS_KEY: swift.secretAccessKey,
    };
    // The account and container servers may still be starting when the proxy is: retry the first call.
    const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
    const s3 = s3Client(swift, S3Client);
    await waitFor(
      `bucket "${swift.bucket}" to be created`,
      async () => {
        await s3.send(new CreateBucketCommand({ Bucket: swift.bucket }));
        return true;
      },
      // Swift's account and container services can take a while on a busy machine.
      90_000,
      300,
    );
    s3.destroy();
    return swift;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** An S3 client for the test's own checks on the bucket, configured as the server's is. */
export function s3Client<C>(swift: Swift, S3Client: new (config: object) => C): C {
  return new S3Client({
    endpoint: swift.endpoint,
    region: swift.region,
    forcePathStyle: true,
    credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
