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

export async function fileTransfers(target: Target, options: { token: string | null; files: number; fileMiB: number }): Promise<FilesRow> {
  const d = dialect(target, options.token);
  const data = randomBytes(options.fileMiB * MIB);
  const pid = target.proc.pid!;
  // A warm-up file: the first request compiles the routes.
  const warm = await upload(target, d, data.subarray(0, CHUNK));
  await request(target.url, { method: 'GET', path: d.download(warm.id, warm.location), headers: d.headers });
  await settle(pid);

  let cpu = procCpuUs(pid);
  let t = nowMs();
  const uploaded: { id: string; location: string }[] = [];
  for (let i = 0; i < options.files; i++) uploaded.push(await upload(target, d, data));
  const upMs = nowMs() - t;
  const upCpuUs = procCpuUs(pid) - cpu;
  await settle(pid);

  cpu = procCpuUs(pid);
  t = nowMs();
  for (const u of uploaded) {
    const res = await request(target.url, { method: 'GET', path: d.download(u.id, u.location), headers: d.headers });
    if (res.status !== 200 || res.bytes !== data.length) throw new Error(`${target.name}: a download answered ${res.status} with ${res.bytes} bytes`);
  }
  const downMs = nowMs() - t;
  const downCpuUs = procCpuUs(pid) - cpu;

  const total = options.files * options.fileMiB;
  const row: FilesRow = {
    kind: 'files',
    target: target.name,
    store: target.store,
    files: options.files,
    fileMiB: options.fileMiB,
    uploadMiBps: round(total / (upMs / 1000), 1),
    downloadMiBps: round(total / (downMs / 1000), 1),
    uploadCpuMsPerMiB: round(upCpuUs / 1000 / total, 2),
    downloadCpuMsPerMiB: round(downCpuUs / 1000 / total, 2),
  };
  log(
    `files (${target.name}, ${options.files} × ${options.fileMiB} MiB): upload ${row.uploadMiBps} MiB/s, ${row.uploadCpuMsPerMiB} ms CPU/MiB; ` +
      `download ${row.downloadMiBps} MiB/s, ${row.downloadCpuMsPerMiB} ms CPU/MiB`,
  );
  return row;
}
