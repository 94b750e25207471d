// File transfers: a few large files uploaded in 8 MiB PATCHes (as the SDK sends them) and
// downloaded again, one at a time over loopback, through Parley (tus, the files table, the blob
// store, the download route with its access check) and through the bare node:http server that
// writes to the same disk. Throughput as the client sees it, and the server's CPU per MiB.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { FILE_ID_HEADER, FILES_PATH, UPLOADS_PATH } from '@parley/sdk';
import { procCpuUs, settle } from '../procs.ts';
import { log } from '../results.ts';
import { round, type FilesRow } from '../rows.ts';

const round1 = (v: number) => round(v, 1);
const round2 = (v: number) => round(v, 2);
import { nowMs } from '../shared.ts';
import type { Target } from '../targets.ts';

const MIB = 1024 * 1024;
const CHUNK = 8 * MIB;

/** How one target is spoken to: its paths and the headers it needs. */
interface Dialect {
  create: string;
  download: (id: string, location: string) => string;
  headers: Record<string, string>;
}

function dialect(target: Target, token: string | null): Dialect {
  if (target.name === 'baseline') return { create: '/u', download: (_id, location) => location.replace('/u/', '/f/'), headers: {} };
  return {
    create: UPLOADS_PATH,
    download: (id) => `${FILES_PATH}/${id}`,
    headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${token}` },
  };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  bytes: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(base: string, options: { method: string; path: string; headers: Record<string, string>; body?: Buffer }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(options.path, base);
    const req = http.request(url, { method: options.method, headers: options.headers, agent }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** One file up, in chunks; returns the id and where the download is. */
async function upload(target: Target, d: Dialect, data: Buffer): Promise<{ id: string; location: string }> {
  const created = await request(target.url, { method: 'POST', path: d.create, headers: { ...d.headers, 'upload-length': String(data.length) } });
  if (created.status !== 201) throw new Error(`${target.name}: creating an upload answered ${created.status}`);
  const location = new URL(String(created.headers.location), target.url).pathname;
  let id = location.split('/').pop()!;
  for (let offset = 0; offset < data.length; offset += CHUNK) {
    const body = data.subarray(offset, offset + CHUNK);
    const res = await request(target.url, {
      method: 'PATCH',
      path: location,
      headers: { ...d.headers, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset), 'content-length': String(body.length) },
      body,
    });
    if (res.status !== 204) throw new Error(`${target.name}: a PATCH answered ${res.status}`);
    id = String(res.headers[FILE_ID_HEADER] ?? id);
  }
  return { id, location };
}

interface Measured {
  target: Target;
  d: Dialect;
  pid: number;
  up: { mibps: number; cpu: number }[];
  down: { mibps: number; cpu: number }[];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** One round on one target: `files` uploads, then their downloads, each timed and its CPU read. */
async function measureRound(m: Measured, data: Buffer, files: number): Promise<void> {
  const total = (files * data.length) / MIB;
  await settle(m.pid);
  let cpu = procCpuUs(m.pid);
  let t = nowMs();
  const uploaded: { id: string; location: string }[] = [];
  for (let i = 0; i < files; i++) uploaded.push(await upload(m.target, m.d, data));
  m.up.push({ mibps: total / ((nowMs() - t) / 1000), cpu: (procCpuUs(m.pid) - cpu) / 1000 / total });
  await settle(m.pid);

  cpu = procCpuUs(m.pid);
  t = nowMs();
  for (const u of uploaded) {
    const res = await request(m.target.url, { method: 'GET', path: m.d.download(u.id, u.location), headers: m.d.headers });
    if (res.status !== 200 || res.bytes !== data.length) throw new Error(`${m.target.name}: a download answered ${res.status} with ${res.bytes} bytes`);
  }
  m.down.push({ mibps: total / ((nowMs() - t) / 1000), cpu: (procCpuUs(m.pid) - cpu) / 1000 / total });
}

/**
 * Parley and the floor measured in turns (A B, B A, A B, …) so that a change in the machine's load
 * falls on both alike; each row gives the median of its rounds.
 */
export async function fileTransfers(
  targets: { target: Target; token: string | null }[],
  options: { files: number; fileMiB: number; rounds: number },
): Promise<FilesRow[]> {
  const data = randomBytes(options.fileMiB * MIB);
  const measured: Measured[] = [];
  for (const { target, token } of targets) {
    const m: Measured = { target, d: dialect(target, token), pid: target.proc.pid!, up: [], down: [] };
    // A warm-up file: the first request compiles the routes.
    const warm = await upload(target, m.d, data.subarray(0, CHUNK));
    await request(target.url, { method: 'GET', path: m.d.download(warm.id, warm.location), headers: m.d.headers });
    measured.push(m);
  }
  for (let r = 0; r < options.rounds; r++) {
    const order = r % 2 === 0 ? measured : [...measured].reverse();
    for (const m of order) await measureRound(m, data, options.files);
  }
  return measured.map((m) => {
    const row: FilesRow = {
      kind: 'files',
      target: m.target.name,
      store: m.target.store,
      files: options.files,
      fileMiB: options.fileMiB,
      rounds: options.rounds,
      uploadMiBps: round1(median(m.up.map((x) => x.mibps))),
      downloadMiBps: round1(median(m.down.map((x) => x.mibps))),
      uploadCpuMsPerMiB: round2(median(m.up.map((x) => x.cpu))),
      downloadCpuMsPerMiB: round2(median(m.down.map((x) => x.cpu))),
    };
    const each = (xs: { mibps: number }[]) => xs.map((x) => x.mibps.toFixed(0)).join('/');
    log(
      `files (${m.target.name}, ${options.files} × ${options.fileMiB} MiB, median of ${options.rounds}): upload ${row.uploadMiBps} MiB/s (${each(m.up)}), ` +
        `${row.uploadCpuMsPerMiB} ms CPU/MiB; download ${row.downloadMiBps} MiB/s (${each(m.down)}), ${row.downloadCpuMsPerMiB} ms CPU/MiB`,
    );
    return row;
  });
}
