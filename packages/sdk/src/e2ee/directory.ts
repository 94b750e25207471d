import type { ParleyClient } from '../http-client.ts';
import { fromBase64, toBase64 } from './base64.ts';
import { bytesEqual } from './codec.ts';
import { decodeDeviceList, encodeDeviceList, verifyDeviceListChain, type DeviceList, type DeviceListHead } from './device-list.ts';
import { E2eeError, type E2eeErrorCode } from './errors.ts';
import { aikIdOf, createAuthenticationService, decodeDeviceCert, type CredentialValidator, type IdentityLookup } from './identity.ts';

// What this device trusts about other accounts: the identity key pinned per user (trust on first use; a changed
// key is refused until the user accepts it, `trust`) and the newest device list whose hash chain it verified.

interface Known {
  head: DeviceListHead;
  list: DeviceList;
}

/** The server offers another identity key for a user than the one pinned here (the account's identity was reset). */
export interface IdentityChange {
  readonly userId: string;
  /** The key this device trusts, and keeps trusting until `trust(userId)`. */
  readonly pinned: Uint8Array;
  /** The key the server now names. */
  readonly offered: Uint8Array;
}

/** What the directory refused: a changed identity key, or device lists that do not chain on from the one held. */
export type DirectoryProblem =
  { kind: 'identity_changed'; userId: string } | { kind: 'device_list_rejected'; userId: string; code: E2eeErrorCode; message: string };

/** Why the last credential this directory refused was refused (the MLS library only hears "no"). */
export interface Refusal {
  readonly userId: string;
  readonly deviceId: string;
  /** The AIK id the certificate names (empty when it is no certificate). */
  readonly aikId: Uint8Array;
  readonly reason: string;
}

export class Directory implements IdentityLookup {
  private readonly aiks = new Map<string, Uint8Array>();
  private readonly lists = new Map<string, Known>();
  private readonly changes = new Map<string, IdentityChange>();
  private readonly reported = new Set<string>();
  private readonly service = createAuthenticationService(this);
  /** Told of each problem once (an identity change per offered key, a device-list refusal per user and cause). */
  onProblem: ((problem: DirectoryProblem) => void) | undefined;
  /** The last credential refused, and why. */
  lastRefusal: Refusal | undefined;

  constructor(private readonly client: ParleyClient) {}

  /** Pins a user's identity key from outside (a device's own account, or a verified safety number). */
  pin(userId: string, publicKey: Uint8Array): void {
    this.aiks.set(userId, publicKey);
  }

  async pinnedAik(userId: string): Promise<Uint8Array | undefined> {
    const pinned = this.aiks.get(userId);
    if (pinned) return pinned;
    const key = await this.fetchAik(userId);
    if (key) this.aiks.set(userId, key);
    return key;
  }

  private async fetchAik(userId: string): Promise<Uint8Array | undefined> {
    const identity = await this.client.getIdentity({ userId }).catch((err: unknown) => {
      if ((err as { code?: string }).code === 'not_found') return undefined;
      throw err;
    });
    return identity ? fromBase64(identity.publicKey) : undefined;
  }

  /**
   * Asks the server for the user's identity key and compares it with the pinned one. A different key is an identity
   * change: it is recorded (and told to `onProblem`) but not trusted; what it certifies stays refused until `trust`.
   */
  async checkIdentity(userId: string): Promise<IdentityChange | undefined> {
    const pinned = this.aiks.get(userId);
    if (!pinned) {
      await this.pinnedAik(userId);
      return undefined;
    }
    const offered = await this.fetchAik(userId);
    if (!offered || bytesEqual(offered, pinned)) {
      this.changes.delete(userId);
      return undefined;
    }
    const known = this.changes.get(userId);
    if (known && bytesEqual(known.offered, offered)) return known;
    const change = { userId, pinned, offered };
    this.changes.set(userId, change);
    this.onProblem?.({ kind: 'identity_changed', userId });
    return change;
  }

  /** The identity change of a user seen and not yet accepted, if any. */
  identityChange(userId: string): IdentityChange | undefined {
    return this.changes.get(userId);
  }

  /** The user whose new, not yet accepted identity key certifies the last credential refused, if that is why. */
  async refusedForIdentityChange(): Promise<string | undefined> {
    const refusal = this.lastRefusal;
    const change = refusal && this.changes.get(refusal.userId);
    return change && bytesEqual(refusal.aikId, await aikIdOf(change.offered)) ? refusal.userId : undefined;
  }

  /**
   * Accepts the identity key the server now offers for a user, after an identity change (`checkIdentity`). The device
   * list chain starts over under the new key: its newest list is trusted on first use, as for a new contact.
   */
  trust(userId: string): Uint8Array {
    const change = this.changes.get(userId);
    if (!change) throw new E2eeError('e2ee_identity_missing', `No new identity key of user "${userId}" to accept`);
    this.aiks.set(userId, change.offered);
    this.lists.delete(userId);
    this.changes.delete(userId);
    for (const k of [...this.reported]) if (k.startsWith(`${userId}\u0000`)) this.reported.delete(k);
    return change.offered;
  }

  async deviceList(userId: string): Promise<DeviceList | undefined> {
    return (this.lists.get(userId) ?? (await this.refresh(userId)))?.list;
  }

  /** The newest device list of a user this device verified, without asking the server. */
  verifiedDeviceList(userId: string): Known | undefined {
    return this.lists.get(userId);
  }

  /**
   * Fetches the versions after the one known and verifies that they chain on from it: a rollback, a fork or a gap
   * throws (and is told to `onProblem`) and the known head stays. With no head yet, the newest list is trusted on
   * first use: a chain from version 1 with nothing to anchor it proves no more than the newest signature does, and a
   * chain that crosses an identity reset is signed by two keys.
   */
  async refresh(userId: string): Promise<Known | undefined> {
    const aik = await this.pinnedAik(userId);
    if (!aik) return undefined;
    const known = this.lists.get(userId);
    const fetched = await this.fetchLists(userId, known?.head.version ?? 0);
    if (fetched.length === 0) return known;
    try {
      const { head, list } = await verifyDeviceListChain({ userId, aikPublicKey: aik, known: known?.head, lists: known ? fetched : fetched.slice(-1) });
      const next = { head, list: list ?? known!.list };
      this.lists.set(userId, next);
      return next;
    } catch (err) {
      if (err instanceof E2eeError) this.tell(userId, err);
      throw err;
    }
  }

  /** The user's device lists after version `after` and up to `upTo`, read page by page. */
  private async fetchLists(userId: string, after: number, upTo = Infinity): Promise<DeviceList[]> {
    const lists: DeviceList[] = [];
    while (after < upTo) {
      const page = await this.client.getDeviceLists({ userId, after });
      lists.push(...page.lists.map((l) => decodeDeviceList(fromBase64(l.data))).filter((l) => l.version <= upTo));
      if (!page.hasMore || page.lists.length === 0) break;
      after = page.lists.at(-1)!.version;
    }
    return lists;
  }

  private tell(userId: string, err: E2eeError): void {
    const k = `${userId}\u0000${err.code}`;
    if (this.reported.has(k)) return;
    this.reported.add(k);
    this.onProblem?.({ kind: 'device_list_rejected', userId, code: err.code, message: err.message });
  }

  /**
   * The credential check MLS runs for every leaf: against what is known, and once more after fetching the user's
   * newer device lists when the device is not in the one held (it may have been added since). A certificate of
   * another identity key than the pinned one is refused, and the server is asked whether the user's key changed.
   */
  validator(): CredentialValidator {
    return {
      validate: async (identity, signatureKey) => {
        if ((await this.service.check(identity, signatureKey)).ok) return true;
        let cert: ReturnType<typeof decodeDeviceCert>;
        try {
          cert = decodeDeviceCert(identity);
        } catch {
          return this.check(identity, signatureKey);
        }
        const pinned = await this.pinnedAik(cert.userId);
        if (pinned && !bytesEqual(cert.aikId, await aikIdOf(pinned))) {
          await this.checkIdentity(cert.userId);
          return this.check(identity, signatureKey);
        }
        try {
          await this.refresh(cert.userId);
        } catch (err) {
          // A list that does not chain on is refused and told; the device it would have admitted stays out.
          if (!(err instanceof E2eeError)) throw err;
        }
        return this.check(identity, signatureKey);
      },
    };
  }

  /**
   * The check for a device joining a group by external commit: `validator()`, which also lets through a leaf of the
   * tree whose device its owner listed before, under the pinned key and with this signature key, and no longer lists,
   * while the server says that device has ended. Such a leaf is pending removal (the server takes no message into the
   * group until a member commits it): the ended devices of a recovered account. A device never in a signed list of
   * its owner (a ghost), or one the server calls active, is refused as before. Only for the join's tree and GroupInfo
   * signer: Adds and commits of the log go through `validator()`, where an ended device stays out.
   */
  joinValidator(): CredentialValidator {
    const base = this.validator();
    return {
      validate: async (identity, signatureKey) => {
        const before = this.lastRefusal;
        if (await base.validate(identity, signatureKey)) return true;
        if (!(await this.isEndedListedDevice(identity, signatureKey))) return false;
        this.lastRefusal = before;
        return true;
      },
    };
  }

  /** Whether the leaf is a device its owner's verified chain listed before the newest version, and the server no longer lists active. */
  private async isEndedListedDevice(identity: Uint8Array, signatureKey: Uint8Array): Promise<boolean> {
    let cert: ReturnType<typeof decodeDeviceCert>;
    try {
      cert = decodeDeviceCert(identity);
    } catch {
      return false;
    }
    const known = this.lists.get(cert.userId);
    const aik = await this.pinnedAik(cert.userId);
    if (!known || !aik || known.list.devices.some((d) => d.deviceId === cert.deviceId)) return false;
    const lists = await this.fetchLists(cert.userId, 0, known.head.version);
    // The whole chain, from version 1 under the pinned key, must end at the head this device verified.
    try {
      const { head } = await verifyDeviceListChain({ userId: cert.userId, aikPublicKey: aik, lists });
      if (head.version !== known.head.version || !bytesEqual(head.hash, known.head.hash) || lists[0]?.version !== 1) return false;
    } catch (err) {
      if (err instanceof E2eeError) return false;
      throw err;
    }
    const earlier = lists.find((l) => l.devices.some((d) => d.deviceId === cert.deviceId && bytesEqual(d.signatureKey, signatureKey)));
    if (!earlier) return false;
    // Certificate, identity key and signature as for any leaf, against the list that named the device.
    const service = createAuthenticationService({ pinnedAik: (userId) => this.pinnedAik(userId), deviceList: async () => earlier });
    if (!(await service.check(identity, signatureKey)).ok) return false;
    // The server lists a user's active (and, to the user, pending) devices: an ended one is not among them.
    const { devices } = await this.client.listDevices({ userId: cert.userId });
    return !devices.some((d) => d.id === cert.deviceId && d.status === 'active');
  }

  /** The final check of a credential: a refusal is kept as `lastRefusal`. */
  private async check(identity: Uint8Array, signatureKey: Uint8Array): Promise<boolean> {
    const result = await this.service.check(identity, signatureKey);
    if (result.ok) return true;
    let device: { userId: string; deviceId: string; aikId: Uint8Array } = { userId: '', deviceId: '', aikId: new Uint8Array() };
    try {
      device = decodeDeviceCert(identity);
    } catch {
      // Not a certificate: the reason says so.
    }
    this.lastRefusal = { userId: device.userId, deviceId: device.deviceId, aikId: device.aikId, reason: result.reason };
    return false;
  }

  /** The user's identity key, or `e2ee_identity_missing` when the user has none yet. */
  async requireAik(userId: string): Promise<Uint8Array> {
    const aik = await this.pinnedAik(userId);
    if (!aik) throw new E2eeError('e2ee_identity_missing', `User "${userId}" has not set up end-to-end encryption`);
    return aik;
  }

  /** The pinned keys, verified list heads and unaccepted key changes, as JSON for the device's store (store.ts). */
  exportState(): DirectoryState {
    const b64 = (m: Map<string, Uint8Array>) => Object.fromEntries([...m].map(([k, v]) => [k, toBase64(v)]));
    return {
      aiks: b64(this.aiks),
      lists: Object.fromEntries(
        [...this.lists].map(([k, v]) => [k, { version: v.head.version, hash: toBase64(v.head.hash), list: toBase64(encodeDeviceList(v.list)) }]),
      ),
      changes: Object.fromEntries([...this.changes].map(([k, v]) => [k, { pinned: toBase64(v.pinned), offered: toBase64(v.offered) }])),
    };
  }

  /** Takes back what `exportState` gave (on a device loaded from its store). */
  importState(state: DirectoryState): void {
    for (const [userId, key] of Object.entries(state.aiks)) this.aiks.set(userId, fromBase64(key));
    for (const [userId, l] of Object.entries(state.lists)) {
      this.lists.set(userId, { head: { version: l.version, hash: fromBase64(l.hash) }, list: decodeDeviceList(fromBase64(l.list)) });
    }
    for (const [userId, c] of Object.entries(state.changes)) this.changes.set(userId, { userId, pinned: fromBase64(c.pinned), offered: fromBase64(c.offered) });
  }
}

/** A directory's state as stored (base64 bytes). */
export interface DirectoryState {
  aiks: Record<string, string>;
  lists: Record<string, { version: number; hash: string; list: string }>;
  changes: Record<string, { pinned: string; offered: string }>;
}
