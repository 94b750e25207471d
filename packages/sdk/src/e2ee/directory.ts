import type { ParleyClient } from '../http-client.ts';
import { fromBase64 } from './base64.ts';
import { decodeDeviceList, verifyDeviceListChain, type DeviceList, type DeviceListHead } from './device-list.ts';
import { E2eeError } from './errors.ts';
import { createAuthenticationService, decodeDeviceCert, type CredentialValidator, type IdentityLookup } from './identity.ts';

// What this device trusts about other accounts: the identity key pinned per user (trust on first use; a changed
// key is refused until the user is verified again) and the newest device list whose hash chain it verified.

interface Known {
  head: DeviceListHead;
  list: DeviceList;
}

export class Directory implements IdentityLookup {
  private readonly aiks = new Map<string, Uint8Array>();
  private readonly lists = new Map<string, Known>();
  private readonly service = createAuthenticationService(this);

  constructor(private readonly client: ParleyClient) {}

  /** Pins a user's identity key from outside (a device's own account, or a verified safety number). */
  pin(userId: string, publicKey: Uint8Array): void {
    this.aiks.set(userId, publicKey);
  }

  async pinnedAik(userId: string): Promise<Uint8Array | undefined> {
    const pinned = this.aiks.get(userId);
    if (pinned) return pinned;
    const identity = await this.client.getIdentity({ userId }).catch((err: unknown) => {
      if ((err as { code?: string }).code === 'not_found') return undefined;
      throw err;
    });
    if (!identity) return undefined;
    const key = fromBase64(identity.publicKey);
    this.aiks.set(userId, key);
    return key;
  }

  async deviceList(userId: string): Promise<DeviceList | undefined> {
    return (this.lists.get(userId) ?? (await this.refresh(userId)))?.list;
  }

  /** Fetches the versions after the one known and verifies that they chain on from it. */
  async refresh(userId: string): Promise<Known | undefined> {
    const aik = await this.pinnedAik(userId);
    if (!aik) return undefined;
    const known = this.lists.get(userId);
    const fetched: DeviceList[] = [];
    for (let after = known?.head.version ?? 0; ;) {
      const page = await this.client.getDeviceLists({ userId, after });
      fetched.push(...page.lists.map((l) => decodeDeviceList(fromBase64(l.data))));
      if (!page.hasMore || page.lists.length === 0) break;
      after = page.lists.at(-1)!.version;
    }
    if (fetched.length === 0) return known;
    const { head, list } = await verifyDeviceListChain({ userId, aikPublicKey: aik, known: known?.head, lists: fetched });
    const next = { head, list: list ?? known!.list };
    this.lists.set(userId, next);
    return next;
  }

  /**
   * The credential check MLS runs for every leaf: against what is known, and once more after fetching the user's
   * newer device lists when the device is not in the one held (it may have been added since).
   */
  validator(): CredentialValidator {
    return {
      validate: async (identity, signatureKey) => {
        if (await this.service.validate(identity, signatureKey)) return true;
        let userId: string;
        try {
          userId = decodeDeviceCert(identity).userId;
        } catch {
          return false;
        }
        await this.refresh(userId);
        return this.service.validate(identity, signatureKey);
      },
    };
  }

  /** The user's identity key, or `e2ee_identity_missing` when the user has none yet. */
  async requireAik(userId: string): Promise<Uint8Array> {
    const aik = await this.pinnedAik(userId);
    if (!aik) throw new E2eeError('e2ee_identity_missing', `User "${userId}" has not set up end-to-end encryption`);
    return aik;
  }
}
