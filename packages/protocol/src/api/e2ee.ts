import { Type, type Static } from 'typebox';
import { endpoint } from '../endpoint.ts';
import { Id, Strict, Timestamp } from '../common.ts';
import { DeviceName } from './auth.ts';

// End-to-end encryption: account identity keys, devices, signed device lists and MLS KeyPackages.
// The server stores what clients sign and checks only framing, sizes and who may do what.

/** The largest KeyPackage (an MLSMessage of wire format mls_key_package) accepted, in bytes. */
export const MAX_KEY_PACKAGE_BYTES = 4096;
/** KeyPackages one upload may carry. */
export const MAX_KEY_PACKAGES_PER_UPLOAD = 100;
/** Single-use KeyPackages a device may have stored at once. */
export const MAX_KEY_PACKAGES_PER_DEVICE = 200;
/** Below this many single-use KeyPackages left after a claim, the device hears `key_packages.low` and should upload more. */
export const KEY_PACKAGES_LOW = 10;
/** The largest signed device list, in bytes. */
export const MAX_DEVICE_LIST_BYTES = 16384;
/** The largest recovery blob (the identity key encrypted with the recovery key), in bytes. */
export const MAX_RECOVERY_BLOB_BYTES = 4096;
/** The largest device certificate, in bytes. */
export const MAX_DEVICE_CERT_BYTES = 1024;
/** Device-list versions one getDeviceLists call returns at most. */
export const DEVICE_LISTS_PAGE = 100;
/** The MLS cipher suite Parley uses: MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519. */
export const MLS_CIPHER_SUITE = 1;

/** Standard base64 (with padding) of at most `maxBytes` bytes. */
export function Base64(maxBytes: number, description: string, minBytes = 0) {
  return Type.String({
    pattern: '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$',
    minLength: Math.ceil(minBytes / 3) * 4,
    maxLength: Math.ceil(maxBytes / 3) * 4,
    description: `${description} (base64)`,
  });
}

/** 32 bytes in base64: an Ed25519 public key or a SHA-256 digest. */
const Key32 = (description: string) => Type.String({ pattern: '^[A-Za-z0-9+/]{43}=$', description: `${description} (32 bytes, base64)` });

export const Identity = Strict(
  {
    userId: Id,
    publicKey: Key32('The account identity key (Ed25519 public key) that signs device certificates and device lists'),
    version: Type.Integer({ minimum: 1, description: 'Counts the identity keys this account has had' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  "A user's account identity key",
);
export type Identity = Static<typeof Identity>;

export const DeviceStatus = Type.Union([Type.Literal('pending'), Type.Literal('active'), Type.Literal('ended')], {
  description: 'pending: registered, waiting for approval by another device; active: approved (holds a certificate); ended: its session ended',
});
export type DeviceStatus = Static<typeof DeviceStatus>;

export const Device = Strict(
  {
    id: Id,
    userId: Id,
    name: Type.String(),
    status: DeviceStatus,
    signatureKey: Key32("The device's MLS leaf signature key (Ed25519)"),
    cert: Type.Union([Base64(MAX_DEVICE_CERT_BYTES, 'The device certificate signed by the identity key'), Type.Null()], {
      description: 'null while pending',
    }),
    linkCommitment: Type.Optional(
      Type.Union([Key32('SHA-256 of the link key the pending device committed to'), Type.Null()], { description: 'Shown only to the same user' }),
    ),
    createdAt: Timestamp,
    approvedAt: Type.Union([Timestamp, Type.Null()]),
  },
  'An end-to-end encryption device: the session that registered it (same id)',
);
export type Device = Static<typeof Device>;

export const DeviceList = Strict(
  {
    version: Type.Integer({ minimum: 1 }),
    data: Base64(MAX_DEVICE_LIST_BYTES, 'The signed device list, opaque to the server'),
    createdAt: Timestamp,
  },
  'One version of a signed device list',
);
export type DeviceList = Static<typeof DeviceList>;

export const ClaimedKeyPackage = Strict(
  {
    userId: Id,
    deviceId: Id,
    data: Base64(MAX_KEY_PACKAGE_BYTES, 'The KeyPackage as an MLSMessage'),
    lastResort: Type.Boolean({ description: 'true: the device had no single-use package left; this one is served to every claim' }),
  },
  'A KeyPackage handed out to add a device to a group',
);
export type ClaimedKeyPackage = Static<typeof ClaimedKeyPackage>;

const KeyPackageData = Base64(MAX_KEY_PACKAGE_BYTES, 'A KeyPackage as an MLSMessage (version mls10, wire format mls_key_package, cipher suite 1)', 1);

export const putIdentity = endpoint({
  id: 'putIdentity',
  method: 'PUT',
  path: '/me/identity',
  summary:
    'Set my account identity key; the same key again only replaces the recovery blob. Another key needs `reset` and my password: it counts the version up and ends every device of mine (they register again)',
  tag: 'e2ee',
  auth: true,
  body: Strict({
    publicKey: Key32('The account identity key (Ed25519 public key)'),
    recoveryBlob: Type.Optional(Base64(MAX_RECOVERY_BLOB_BYTES, 'The identity key encrypted with the recovery key', 1)),
    reset: Type.Optional(Type.Boolean({ description: 'Replace the identity key I have (lost every device and the recovery key)' })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'My password, required with `reset`' })),
  }),
  response: Identity,
  errors: ['unauthorized', 'invalid_request', 'invalid_credentials', 'identity_exists', 'rate_limited'],
});

export const getIdentity = endpoint({
  id: 'getIdentity',
  method: 'GET',
  path: '/users/:userId/identity',
  summary: "A user's account identity key",
  tag: 'e2ee',
  auth: true,
  params: Strict({ userId: Id }),
  response: Identity,
  errors: ['unauthorized', 'not_found', 'rate_limited'],
});

export const getRecovery = endpoint({
  id: 'getRecovery',
  method: 'GET',
  path: '/me/identity/recovery',
  summary: 'My recovery blob, to restore the identity key with the recovery key (rate-limited like a password check)',
  tag: 'e2ee',
  auth: true,
  response: Strict({ recoveryBlob: Base64(MAX_RECOVERY_BLOB_BYTES, 'The identity key encrypted with the recovery key') }),
  errors: ['unauthorized', 'not_found', 'rate_limited'],
});

export const registerDevice = endpoint({
  id: 'registerDevice',
  method: 'POST',
  path: '/devices',
  summary:
    'Register the current session as a device. With a certificate, while the account has an identity and no other device that is not ended, it is active at once; otherwise pending until approved',
  tag: 'e2ee',
  auth: true,
  status: 201,
  body: Strict({
    signaturePublicKey: Key32("The device's MLS leaf signature key (Ed25519)"),
    linkCommitment: Type.Optional(Key32('SHA-256 of the link key, for approval by another device')),
    cert: Type.Optional(Base64(MAX_DEVICE_CERT_BYTES, 'The device certificate, self-signed with the identity key (first device only)', 1)),
    name: Type.Optional(DeviceName),
  }),
  response: Device,
  errors: ['unauthorized', 'invalid_request', 'identity_required', 'device_exists', 'device_key_taken', 'rate_limited'],
});

export const approveDevice = endpoint({
  id: 'approveDevice',
  method: 'POST',
  path: '/devices/:deviceId/approve',
  summary:
    'Approve a pending device of mine with its certificate: from another active device, or from the device itself when I have no active device (recovery key)',
  tag: 'e2ee',
  auth: true,
  params: Strict({ deviceId: Id }),
  body: Strict({ cert: Base64(MAX_DEVICE_CERT_BYTES, 'The device certificate signed with the identity key', 1) }),
  response: Device,
  errors: ['unauthorized', 'invalid_request', 'not_found', 'device_not_active', 'device_not_pending', 'rate_limited'],
});

export const listDevices = endpoint({
  id: 'listDevices',
  method: 'GET',
  path: '/users/:userId/devices',
  summary: "A user's devices (mine: active and pending; another's: active) and their newest signed device list",
  tag: 'e2ee',
  auth: true,
  params: Strict({ userId: Id }),
  response: Strict({ devices: Type.Array(Device), deviceList: Type.Union([DeviceList, Type.Null()]) }),
  errors: ['unauthorized', 'not_found', 'rate_limited'],
});

export const getDeviceLists = endpoint({
  id: 'getDeviceLists',
  method: 'GET',
  path: '/users/:userId/device-lists',
  summary: "The versions of a user's signed device list after `after`, oldest first, to verify the hash chain",
  tag: 'e2ee',
  auth: true,
  params: Strict({ userId: Id }),
  query: Strict({ after: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 53 - 1, description: 'The last version I have (0: from the first)' })) }),
  response: Strict({
    lists: Type.Array(DeviceList, { maxItems: DEVICE_LISTS_PAGE }),
    hasMore: Type.Boolean({ description: 'Call again after the last version returned for the rest' }),
  }),
  errors: ['unauthorized', 'invalid_request', 'not_found', 'rate_limited'],
});

export const publishDeviceList = endpoint({
  id: 'publishDeviceList',
  method: 'PUT',
  path: '/me/device-list',
  summary: 'Publish the next version of my signed device list: `version` must be the current one plus 1',
  tag: 'e2ee',
  auth: true,
  body: Strict({
    version: Type.Integer({ minimum: 1, maximum: 2 ** 53 - 1 }),
    data: Base64(MAX_DEVICE_LIST_BYTES, 'The signed device list, opaque to the server', 1),
  }),
  response: DeviceList,
  errors: ['unauthorized', 'invalid_request', 'device_not_active', 'device_list_conflict', 'rate_limited'],
});

export const uploadKeyPackages = endpoint({
  id: 'uploadKeyPackages',
  method: 'POST',
  path: '/devices/current/key-packages',
  summary: 'Store KeyPackages of the current (active) device; `lastResort` replaces its last-resort package',
  tag: 'e2ee',
  auth: true,
  body: Strict({
    keyPackages: Type.Array(KeyPackageData, { maxItems: MAX_KEY_PACKAGES_PER_UPLOAD, description: 'Single-use packages' }),
    lastResort: Type.Optional(KeyPackageData),
  }),
  response: Strict({ count: Type.Integer({ minimum: 0, description: 'Single-use packages now stored' }), lastResort: Type.Boolean() }),
  errors: ['unauthorized', 'invalid_request', 'key_package_invalid', 'too_many_key_packages', 'device_not_active', 'rate_limited'],
});

export const countKeyPackages = endpoint({
  id: 'countKeyPackages',
  method: 'GET',
  path: '/devices/current/key-packages',
  summary: 'How many unexpired single-use KeyPackages the current device has stored, and whether it has a last-resort one',
  tag: 'e2ee',
  auth: true,
  response: Strict({ count: Type.Integer({ minimum: 0 }), lastResort: Type.Boolean() }),
  errors: ['unauthorized', 'rate_limited'],
});

export const claimKeyPackages = endpoint({
  id: 'claimKeyPackages',
  method: 'POST',
  path: '/chats/:chatId/mls/key-packages',
  summary:
    'Take one KeyPackage for every active device of these members of the chat (mine but the current device included): single-use ones are handed out once, the last-resort one is kept',
  tag: 'e2ee',
  auth: true,
  params: Strict({ chatId: Id }),
  body: Strict({ userIds: Type.Array(Id, { minItems: 1, maxItems: 20, uniqueItems: true }) }),
  response: Strict({ keyPackages: Type.Array(ClaimedKeyPackage) }),
  errors: ['unauthorized', 'invalid_request', 'not_found', 'not_member', 'device_not_active', 'rate_limited'],
});

// The delivery service: one MLS group per end-to-end encrypted chat. Commits are totally ordered by an
// epoch compare-and-swap that also takes the chat's next position; the server checks their framing only.

/** The largest commit (an MLSMessage of wire format mls_public_message) accepted, in bytes. */
export const MAX_COMMIT_BYTES = 128 * 1024;
/** The largest Welcome accepted, in bytes. */
export const MAX_WELCOME_BYTES = 256 * 1024;
/** The largest GroupInfo accepted, in bytes. */
export const MAX_GROUP_INFO_BYTES = 128 * 1024;
/** The longest MLS group id accepted, in bytes. */
export const MAX_GROUP_ID_BYTES = 64;
/** Devices one commit may declare added or removed. */
export const MAX_COMMIT_DEVICES = 100;
/** Most bytes of an MLS application message: a payload padded to at most 32 KiB, plus framing and tag. */
export const MAX_MLS_MESSAGE_BYTES = 33 * 1024;

export const MlsApplicationMessage = Strict(
  {
    epoch: Type.Integer({ minimum: 1, maximum: 2 ** 53 - 1, description: 'The epoch it was encrypted at: the group\u2019s current one' }),
    ciphertext: Base64(MAX_MLS_MESSAGE_BYTES, 'The MLS PrivateMessage (an MLSMessage), opaque to the server', 1),
    editOf: Type.Optional(Type.Union([Id, Type.Null()], { description: 'An edit: the id of the message it replaces, a message of mine in this chat' })),
  },
  'An end-to-end encrypted message: what the sender\u2019s device encrypted for the chat\u2019s MLS group',
);
export type MlsApplicationMessage = Static<typeof MlsApplicationMessage>;

export const MlsDeviceRef = Strict({ userId: Id, deviceId: Id }, 'A device in a chat\u2019s MLS group');
export type MlsDeviceRef = Static<typeof MlsDeviceRef>;

export const MlsGroupInfo = Strict(
  {
    groupId: Base64(MAX_GROUP_ID_BYTES, 'The MLS group id'),
    epoch: Type.Integer({ minimum: 1, description: 'The epoch the GroupInfo is of: the group\u2019s current one' }),
    seq: Type.Integer({ minimum: 1, description: 'The chat position of the commit that made it' }),
    data: Base64(MAX_GROUP_INFO_BYTES, 'The GroupInfo as an MLSMessage (wire format mls_group_info)'),
  },
  'The newest GroupInfo of a chat\u2019s group, for external joins',
);
export type MlsGroupInfo = Static<typeof MlsGroupInfo>;

export const getGroupInfo = endpoint({
  id: 'getGroupInfo',
  method: 'GET',
  path: '/chats/:chatId/mls/group-info',
  summary: 'The newest GroupInfo of the chat\u2019s MLS group (members only)',
  tag: 'e2ee',
  auth: true,
  params: Strict({ chatId: Id }),
  response: MlsGroupInfo,
  errors: ['unauthorized', 'not_found', 'rate_limited'],
});

export const postCommit = endpoint({
  id: 'postCommit',
  method: 'POST',
  path: '/chats/:chatId/mls/commits',
  summary:
    'Post a commit of the chat\u2019s MLS group at its current epoch: accepted once per epoch (else 409 mls_epoch_conflict), with the GroupInfo of the new epoch; `init` creates the group (private and self chats) and makes the chat end-to-end encrypted; a retry with the same clientCommitId returns the original',
  tag: 'e2ee',
  auth: true,
  params: Strict({ chatId: Id }),
  body: Strict({
    clientCommitId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'Chosen by the client, unique per chat and device' }),
    epoch: Type.Integer({ minimum: 0, description: 'The epoch the commit is framed at: the group\u2019s current one (0 with init)' }),
    commit: Base64(MAX_COMMIT_BYTES, 'The commit as an MLSMessage (wire format mls_public_message)', 1),
    groupInfo: Base64(MAX_GROUP_INFO_BYTES, 'The GroupInfo of the new epoch (wire format mls_group_info)', 1),
    welcome: Type.Optional(Base64(MAX_WELCOME_BYTES, 'The Welcome for the devices it adds (wire format mls_welcome)', 1)),
    init: Type.Optional(
      Strict(
        { groupId: Base64(MAX_GROUP_ID_BYTES, 'The new group\u2019s id', 1), cipherSuite: Type.Integer({ description: 'Must be 1' }) },
        'Creates the chat\u2019s group',
      ),
    ),
    addDevices: Type.Optional(Type.Array(MlsDeviceRef, { maxItems: MAX_COMMIT_DEVICES, description: 'Devices the commit adds (besides the committer)' })),
    removeDevices: Type.Optional(Type.Array(MlsDeviceRef, { maxItems: MAX_COMMIT_DEVICES, description: 'Devices the commit removes' })),
  }),
  response: Strict({
    seq: Type.Integer({ minimum: 1, description: 'The chat position of the mls.commit event' }),
    epoch: Type.Integer({ minimum: 1, description: 'The epoch the commit created' }),
  }),
  errors: ['unauthorized', 'invalid_request', 'not_found', 'mls_commit_invalid', 'mls_epoch_conflict', 'device_not_active', 'rate_limited'],
});

/** Why a device could not use something of a chat's log (a cause, never content). */
export const MLS_FAILURE_CAUSES = ['undecryptable', 'sender_mismatch', 'metadata_mismatch', 'commit_rejected', 'welcome_failed', 'replayed'] as const;
export type MlsFailureCause = (typeof MLS_FAILURE_CAUSES)[number];

export const reportMlsFailure = endpoint({
  id: 'reportMlsFailure',
  method: 'POST',
  path: '/chats/:chatId/mls/failures',
  summary:
    'Report that this device could not decrypt or accept something at a position of the chat log: counted in /metrics by cause and logged with the chat and position, never with content',
  tag: 'e2ee',
  auth: true,
  status: 204,
  params: Strict({ chatId: Id }),
  body: Strict({
    cause: Type.Enum(MLS_FAILURE_CAUSES),
    seq: Type.Integer({ minimum: 1, maximum: 2 ** 53 - 1, description: 'The position of what failed' }),
  }),
  errors: ['unauthorized', 'invalid_request', 'not_found', 'rate_limited'],
});

// Device linking: a small mailbox between a pending device and an active device of the same account. The SDK
// passes its link messages through it (keys to compare, the identity key sealed to the new device); the server
// relays the bytes only, once each, and forgets them after DEVICE_LINK_TTL_MS.

/** The largest device-link message, in bytes. */
export const MAX_DEVICE_LINK_BYTES = 4096;

export const DeviceLinkMessage = Strict(
  {
    senderDeviceId: Id,
    data: Base64(MAX_DEVICE_LINK_BYTES, 'The message as the sending device made it, opaque to the server'),
    createdAt: Timestamp,
  },
  'One message of the device-link mailbox',
);
export type DeviceLinkMessage = Static<typeof DeviceLinkMessage>;

export const postDeviceLink = endpoint({
  id: 'postDeviceLink',
  method: 'POST',
  path: '/devices/:deviceId/link',
  summary:
    'Leave a device-link message for another device of mine: from an active device to a pending one or back. It replaces my previous unread message to that device, is read once and expires after ten minutes',
  tag: 'e2ee',
  auth: true,
  status: 204,
  params: Strict({ deviceId: Id }),
  body: Strict({ data: Base64(MAX_DEVICE_LINK_BYTES, 'The message, opaque to the server', 1) }),
  errors: ['unauthorized', 'invalid_request', 'not_found', 'device_not_active', 'device_not_pending', 'rate_limited'],
});

export const getDeviceLink = endpoint({
  id: 'getDeviceLink',
  method: 'GET',
  path: '/devices/current/link',
  summary: 'Take the unexpired device-link messages left for the current device (from one sender with `from`): each is returned once',
  tag: 'e2ee',
  auth: true,
  query: Strict({ from: Type.Optional(Id) }),
  response: Strict({ messages: Type.Array(DeviceLinkMessage) }),
  errors: ['unauthorized', 'invalid_request', 'device_not_active', 'rate_limited'],
});
