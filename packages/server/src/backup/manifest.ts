import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';

/** What `parley backup` writes beside the data, and `parley restore` checks before touching anything. */
export interface Manifest {
  format: 'parley-backup';
  formatVersion: 1;
  parleyVersion: string;
  createdAt: string;
  /** the migrations the snapshot had applied, in order: a restore needs to know every one of them */
  schema: string[];
  store: 'sqlite' | 'postgres';
  database: { file: string; bytes: number; sha256: string };
  /** rows per table in the snapshot (those of COUNTED it has), compared again after a restore */
  counts: Partial<Record<CountedTable, number>>;
  /** the bytes of every finished file, copied from the blob store (local or S3) */
  blobs: { from: 'local' | 's3'; files: { id: string; bytes: number; sha256: string }[] };
}

export const MANIFEST = 'manifest.json';
export const BLOB_DIR = 'blobs';
/**
 * The tables whose rows a backup counts (what a client can read comes from these), the end-to-end
 * encryption state included: identity keys and recovery blobs, devices, signed device lists,
 * KeyPackages, and each chat's MLS group, its commits and its devices. A backup counts those its
 * snapshot has (one of an older schema lacks the newer tables); a restore compares those it counted.
 */
export const COUNTED = [
  'users',
  'sessions',
  'chats',
  'members',
  'messages',
  'chat_events',
  'user_events',
  'chat_invitations',
  'reactions',
  'files',
  'file_refs',
  'invites',
  'identities',
  'devices',
  'device_lists',
  'key_packages',
  'mls_groups',
  'mls_commits',
  'mls_group_devices',
] as const;
export type CountedTable = (typeof COUNTED)[number];

/** sha256 and length of a stream, read once. */
export async function digest(stream: Readable): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  await pipeline(stream, async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      hash.update(chunk);
      bytes += chunk.length;
    }
    yield* [];
  });
  return { sha256: hash.digest('hex'), bytes };
}

export function digestFile(file: string): Promise<{ sha256: string; bytes: number }> {
  return digest(createReadStream(file));
}

/** Reads and checks a manifest's shape; throws a sentence saying what is wrong. */
export function parseManifest(text: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw new Error(`${MANIFEST} is not valid JSON: the backup is damaged`);
  }
  if (m?.format !== 'parley-backup') throw new Error(`${MANIFEST} is not a Parley backup's`);
  if (m.formatVersion !== 1) throw new Error(`This backup has format version ${String(m.formatVersion)}; this Parley reads version 1`);
  const ok =
    Array.isArray(m.schema) &&
    (m.store === 'sqlite' || m.store === 'postgres') &&
    typeof m.database?.file === 'string' &&
    /^[a-z0-9.]+$/.test(m.database.file) &&
    typeof m.database.sha256 === 'string' &&
    typeof m.counts === 'object' &&
    m.counts !== null &&
    Object.entries(m.counts).every(([table, n]) => (COUNTED as readonly string[]).includes(table) && Number.isInteger(n) && (n as number) >= 0) &&
    Array.isArray(m.blobs?.files) &&
    m.blobs.files.every((f) => typeof f?.id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(f.id) && typeof f.sha256 === 'string' && Number.isInteger(f.bytes));
  if (!ok) throw new Error(`${MANIFEST} is incomplete: the backup is damaged`);
  return m;
}

/** Runs a PostgreSQL client tool (pg_dump, pg_restore) to completion; its stderr is the error. */
export function runTool(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(new Error(`${cmd} could not run (${err.message}): install the PostgreSQL client tools`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} failed: ${stderr.trim() || `exit ${code}`}`))));
  });
}
