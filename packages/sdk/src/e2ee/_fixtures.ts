import { signDeviceList, type DeviceList } from './device-list.ts';
import { createAuthenticationService, encodeDeviceCert, generateAik, signDeviceCert, type Aik, type CredentialValidator } from './identity.ts';
import { createMls, type LocalKeyPackage, type Mls, type MlsLibrary, type RosterEntry } from './mls.ts';

// Test fixtures for the E2EE unit tests: users with AIKs, devices with certificates in signed device lists, and one
// shared "directory" that plays what every client would have pinned and verified.

export interface TestUser {
  readonly userId: string;
  readonly aik: Aik;
  list?: DeviceList;
}

export interface TestDevice {
  readonly userId: string;
  readonly deviceId: string;
  readonly keyPackage: LocalKeyPackage;
  readonly signatureKeyPair: { publicKey: Uint8Array; privateKey: Uint8Array };
}

export async function makeWorld(options: { library?: MlsLibrary; validator?: CredentialValidator } = {}) {
  const users = new Map<string, TestUser>();
  const auth = createAuthenticationService({
    pinnedAik: async (userId) => users.get(userId)?.aik.publicKey,
    deviceList: async (userId) => users.get(userId)?.list,
  });
  const mls: Mls = await createMls({ validator: options.validator ?? auth, library: options.library });

  async function user(userId: string): Promise<TestUser> {
    const u: TestUser = { userId, aik: await generateAik() };
    users.set(userId, u);
    return u;
  }

  /** A device certified by its user's AIK and published in the user's device list (replacing one of the same id). */
  async function device(userId: string, deviceId: string, options: { listed?: boolean } = {}): Promise<TestDevice> {
    const u = users.get(userId) ?? (await user(userId));
    const signatureKeyPair = await mls.generateSignatureKeyPair();
    const cert = await signDeviceCert(u.aik, { userId, deviceId, signatureKey: signatureKeyPair.publicKey });
    if (options.listed !== false) {
      const others = (u.list?.devices ?? []).filter((d) => d.deviceId !== deviceId);
      u.list = await signDeviceList(u.aik, {
        userId,
        previous: u.list,
        devices: [...others, { deviceId, signatureKey: signatureKeyPair.publicKey, issuedAt: Date.now() }],
      });
    }
    const keyPackage = await mls.createKeyPackage({ certificate: encodeDeviceCert(cert), signatureKeyPair });
    return { userId, deviceId, keyPackage, signatureKeyPair };
  }

  function roster(...userIds: string[]): RosterEntry[] {
    return userIds.map((userId) => ({ userId, aikId: users.get(userId)!.aik.id }));
  }

  return { mls, auth, users, user, device, roster };
}

export const text = (s: string) => new TextEncoder().encode(s);
export const untext = (b: Uint8Array) => new TextDecoder().decode(b);
