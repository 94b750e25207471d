import { bytesEqual, sha256, TlsReader, TlsWriter } from './codec.ts';
import { E2eeError } from './errors.ts';
import { ed25519Sign, ed25519Verify, type Aik } from './identity.ts';

// A user's AIK-signed, hash-chained device list (E2EE design §4.3). Each version names the SHA-256 of the whole
// encoding of the previous one, so a client that remembers (version, hash) detects a server that rolls back or
// shows different people different histories (a fork).

const LIST_LABEL = new TextEncoder().encode('parley device list v1');
const LIST_FORMAT = 1;
const ZERO_HASH = new Uint8Array(32);

export interface DeviceListEntry {
  readonly deviceId: string;
  /** The device's MLS leaf signature key (Ed25519, raw). */
  readonly signatureKey: Uint8Array;
  readonly issuedAt: number;
}

export interface DeviceList {
  readonly userId: string;
  /** 1 for the first list, then +1 per change. */
  readonly version: number;
  /** SHA-256 of the previous version's encoding; 32 zero bytes for version 1. */
  readonly prevHash: Uint8Array;
  readonly issuedAt: number;
  readonly devices: readonly DeviceListEntry[];
  readonly signature: Uint8Array;
}

/** What a client remembers of the newest list it verified for a user. */
export interface DeviceListHead {
  readonly version: number;
  readonly hash: Uint8Array;
}

function writeBody(w: TlsWriter, list: Omit<DeviceList, 'signature'>): TlsWriter {
  return w
    .u8(LIST_FORMAT)
    .string(list.userId)
    .u64(list.version)
    .opaque(list.prevHash)
    .u64(list.issuedAt)
    .vector(list.devices, (d, e) => d.string(e.deviceId).opaque(e.signatureKey).u64(e.issuedAt));
}

export function encodeDeviceList(list: DeviceList): Uint8Array {
  return writeBody(new TlsWriter(), list).opaque(list.signature).finish();
}

export function decodeDeviceList(bytes: Uint8Array): DeviceList {
  const r = new TlsReader(bytes, 'device list');
  const format = r.u8();
  if (format !== LIST_FORMAT) throw new E2eeError('e2ee_malformed', `Unknown device list format ${format}`);
  const list = {
    userId: r.string(),
    version: Number(r.u64()),
    prevHash: r.opaque().slice(),
    issuedAt: Number(r.u64()),
    devices: r.vector((d) => ({ deviceId: d.string(), signatureKey: d.opaque().slice(), issuedAt: Number(d.u64()) })),
    signature: r.opaque().slice(),
  };
  r.end();
  return list;
}

export async function hashDeviceList(list: DeviceList): Promise<Uint8Array> {
  return sha256(encodeDeviceList(list));
}

/**
 * Signs the next version of a user's device list, e.g.
 * `await signDeviceList(aik, { userId, previous, devices })` after approving or removing a device.
 */
export async function signDeviceList(
  aik: Aik,
  options: { userId: string; previous?: DeviceList; devices: readonly DeviceListEntry[]; issuedAt?: number },
): Promise<DeviceList> {
  const body = {
    userId: options.userId,
    version: options.previous ? options.previous.version + 1 : 1,
    prevHash: options.previous ? await hashDeviceList(options.previous) : ZERO_HASH,
    issuedAt: options.issuedAt ?? Date.now(),
    devices: options.devices,
  };
  const signature = await ed25519Sign(aik.privateKey, new TlsWriter().raw(LIST_LABEL).raw(writeBody(new TlsWriter(), body).finish()).finish());
  return { ...body, signature };
}

export async function verifyDeviceListSignature(list: DeviceList, aikPublicKey: Uint8Array): Promise<boolean> {
  const signed = new TlsWriter().raw(LIST_LABEL).raw(writeBody(new TlsWriter(), list).finish()).finish();
  return ed25519Verify(aikPublicKey, list.signature, signed);
}

/**
 * Verifies lists fetched from the server (ascending versions, e.g. `GET …/device-lists?after=known.version`) against
 * what this client already trusts, and returns the new head. Throws `e2ee_bad_signature`, `e2ee_device_list_rollback`
 * (the newest offered version is older than `known`), `e2ee_device_list_fork` (a list at or after `known` does not
 * chain to it) or `e2ee_device_list_gap` (a version is missing). Without `known` the first list is trusted on first use.
 */
export async function verifyDeviceListChain(options: {
  userId: string;
  aikPublicKey: Uint8Array;
  known?: DeviceListHead;
  lists: readonly DeviceList[];
}): Promise<{ head: DeviceListHead; list: DeviceList | undefined }> {
  const { userId, aikPublicKey, known } = options;
  for (const list of options.lists) {
    if (list.userId !== userId) throw new E2eeError('e2ee_bad_signature', `Device list of user "${list.userId}" offered for "${userId}"`);
    if (!(await verifyDeviceListSignature(list, aikPublicKey))) {
      throw new E2eeError('e2ee_bad_signature', `Device list version ${list.version} of user "${userId}" is not signed by the pinned key`);
    }
  }
  const newest = options.lists.reduce((max, l) => Math.max(max, l.version), 0);
  if (known && options.lists.length > 0 && newest < known.version) {
    throw new E2eeError('e2ee_device_list_rollback', `Device list of user "${userId}" went back from version ${known.version} to ${newest}`);
  }
  let head = known;
  let last: DeviceList | undefined;
  for (const list of options.lists) {
    const hash = await hashDeviceList(list);
    if (head && list.version <= head.version) {
      // Only the version we hold can be compared; a different list under the same number is a fork.
      if (list.version === head.version && !bytesEqual(hash, head.hash)) {
        throw new E2eeError('e2ee_device_list_fork', `Device list version ${list.version} of user "${userId}" differs from the one seen before`);
      }
      continue;
    }
    if (head) {
      if (list.version !== head.version + 1) {
        throw new E2eeError('e2ee_device_list_gap', `Device list of user "${userId}" jumps from version ${head.version} to ${list.version}`);
      }
      if (!bytesEqual(list.prevHash, head.hash)) {
        throw new E2eeError('e2ee_device_list_fork', `Device list version ${list.version} of user "${userId}" does not follow the one seen before`);
      }
    } else if (list.version === 1 && !bytesEqual(list.prevHash, ZERO_HASH)) {
      throw new E2eeError('e2ee_device_list_fork', `First device list of user "${userId}" names a predecessor`);
    }
    head = { version: list.version, hash };
    last = list;
  }
  if (head === undefined) throw new E2eeError('e2ee_device_list_gap', `No device list for user "${userId}"`);
  return { head, list: last };
}
