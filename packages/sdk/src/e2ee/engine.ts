import type { ChatEvent, ClaimedKeyPackage, Device, Message, MlsFailureCause, SyncEvent } from '@parley/protocol';
import { ParleyError } from '../errors.ts';
import type { ParleyClient } from '../http-client.ts';
import { fromBase64, toBase64 } from './base64.ts';
import { bytesEqual, sha256 } from './codec.ts';
import { decodeDeviceList, encodeDeviceList, hashDeviceList, signDeviceList, type DeviceList } from './device-list.ts';
import { Directory, type DirectoryProblem, type DirectoryState, type IdentityChange, type Refusal } from './directory.ts';
import { E2eeError } from './errors.ts';
import { aikIdOf, encodeDeviceCert, exportAik, generateAik, importAik, signDeviceCert, type Aik } from './identity.ts';
import { LINK_POLL_MS, PendingLink, receiveLink, SasSession } from './link-session.ts';
import { decodeLinkPayload, encodeLinkMessage, linkCommitment, openSasSecret, sasCode, sealLinkEnvelope, type LinkTarget } from './link.ts';
import { createMls, type CommitBundle, type DeviceRef, type LocalKeyPackage, type Mls, type MlsGroup, type RosterEntry } from './mls.ts';
import { formatRecoveryKey, generateRecoveryKey, openAikEscrow, parseRecoveryKey, sealAikEscrow } from './recovery.ts';
import { safetyNumber } from './safety-number.ts';
import { MemoryE2eeStore, type E2eeStore } from './store.ts';

// The engine that follows a device's logs and keeps its MLS groups: one E2eeDevice per session, one group per
// end-to-end encrypted chat. It is fed the chat events in log order (from sync, or live from the socket); commits
// advance the group, application messages are decrypted, and sends are encrypted at the group's current epoch and
// retried after catching up when another device's commit got there first (409 mls_epoch_conflict). Its state is
// written through an E2eeStore (store.ts) before anything it produced leaves the device, so that a device loaded from
// the store goes on where it was; encrypting the store at rest is the embedding application's.

const KEY_PACKAGE_BATCH = 20;
const SEND_ATTEMPTS = 6;
const PAYLOAD_VERSION = 1;
const STORE_VERSION = 1;
/** Ciphertext digests kept per chat in the store for replay detection (MLS refuses older ones: their keys are spent). */
const STORED_DIGESTS = 500;

/** A message of an end-to-end encrypted chat as this device reads it. */
export interface DecryptedMessage {
  id: string;
  chatId: string;
  seq: number;
  senderId: string;
  /** The device that encrypted it, as MLS authenticated it (null for this device's own sends). */
  senderDeviceId: string | null;
  /** null: not readable here (sent before this device joined, deleted, or it did not decrypt); see `problem` */
  text: string | null;
  replyToId: string | null;
  createdAt: string;
  editedAt: string | null;
  deleted: boolean;
  /**
   * `replayed`: the ciphertext of another message served again at this position; `blocked`: not read because the
   * chat is blocked (see `E2eeChat.blocked`).
   */
  problem?: 'before_join' | 'undecryptable' | 'sender_mismatch' | 'metadata_mismatch' | 'replayed' | 'blocked';
}

/**
 * Something this device refused that its user should see: a contact's identity key changed (accept it with
 * `trustIdentity` after comparing safety numbers), a contact's device lists do not chain on from the one seen before
 * (rolled back or forked), or a commit of a chat's log was refused, which blocks the chat.
 */
export type E2eeProblem = DirectoryProblem | { kind: 'chat_blocked'; chatId: string; seq: number; reason: string };

/**
 * What is encrypted: the text, and again what the server must also see to order and thread messages (the message
 * edited, the message replied to), so that a server that re-targets an edit or a reply is caught.
 */
interface Payload {
  v: number;
  text: string;
  editOf: string | null;
  replyToId: string | null;
  /**
   * The sender's id for the message (unique per chat and sender, shown by the server): a ciphertext moved to another
   * of the sender's messages names the wrong one. Absent from payloads made before it existed.
   */
  clientMessageId?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function randomId(): string {
  return toBase64(globalThis.crypto.getRandomValues(new Uint8Array(12)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
}

const codeOf = (err: unknown): string | undefined => (err instanceof ParleyError ? err.code : undefined);

const json = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));
const unjson = <T>(bytes: Uint8Array): T => JSON.parse(decoder.decode(bytes)) as T;

/** The store's `device` record: this device's own keys and certificate. */
interface DeviceRecord {
  v: number;
  userId: string;
  deviceId: string;
  status: Device['status'];
  cert: string;
  signatureKey: { publicKey: string; privateKey: string };
  /** PKCS#8 of the account's identity key. */
  aik: string;
}

/** The store's `chat/<chatId>` record (base64 for bytes); its readable messages are `msg/<chatId>/<messageId>`. */
interface ChatRecord {
  v: number;
  seq: number;
  group: string | null;
  /** Own commits posted and not yet seen in the log, with the state each makes (null once the server accepted it). */
  ownCommits: Array<[clientCommitId: string, group: string | null]>;
  ownSends: Array<[clientMessageId: string, text: string]>;
  ciphertexts: Array<[digest: string, messageId: string]>;
  blocked: { seq: number; reason: string } | null;
  awaitingIdentity: { seq: number; userId: string } | null;
  waiting: ChatEvent[];
}

/** One session's end-to-end encryption: its identity, certificate, KeyPackages and groups. */
export class E2eeDevice {
  readonly directory: Directory;
  private readonly chats = new Map<string, E2eeChat>();
  private readonly keyPackages = new Map<string, LocalKeyPackage>();
  private lastResort: LocalKeyPackage | undefined;
  private cursor = { userSeq: 0, chats: {} as Record<string, number> };
  /** KeyPackages used, to delete from the store with the state that used them. */
  private readonly forgotten = new Set<string>();
  private storedDirectory = '';
  private storedProblems = 0;
  private syncing: Promise<void> | undefined;
  private readonly problemListeners = new Set<(problem: E2eeProblem) => void>();
  /** Every problem seen, oldest first (see `onProblem`). */
  readonly problems: E2eeProblem[] = [];

  private constructor(
    readonly client: ParleyClient,
    readonly mls: Mls,
    readonly userId: string,
    readonly deviceId: string,
    readonly aik: Aik,
    readonly signatureKeyPair: { publicKey: Uint8Array; privateKey: Uint8Array },
    directory: Directory,
    public status: Device['status'],
    /** The certificate as the server holds it (the approver's, for a device approved by another). */
    private cert: Uint8Array,
    /** Where this device's state is written through (see store.ts). */
    readonly store: E2eeStore,
  ) {
    this.directory = directory;
    directory.onProblem = (problem) => this.tell(problem);
  }

  /**
   * Sets up the client's current session as a device: the account's identity key (made and published on the
   * first device), a leaf signature key, a certificate, and, once the device is active, the device list and a
   * batch of KeyPackages. A device of an account that already has devices is pending until one of them approves
   * it (`approve`); give it the account's identity key (`aik`) that the approval hands over.
   */
  static async setUp(client: ParleyClient, options: { aik?: Aik; name?: string; store?: E2eeStore } = {}): Promise<E2eeDevice> {
    const session = client.session;
    if (!session) throw new E2eeError('e2ee_identity_missing', 'Sign in first');
    const directory = new Directory(client);
    let aik = options.aik;
    const existing = await directory.pinnedAik(session.userId);
    if (!existing) {
      aik ??= await generateAik();
      await client.putIdentity({ publicKey: toBase64(aik.publicKey) });
    } else if (!aik || !bytesEqual(aik.publicKey, existing)) {
      throw new E2eeError('e2ee_identity_missing', 'This account has an identity key already: approve this device from another one');
    }
    directory.pin(session.userId, aik.publicKey);
    const mls = await createMls({ validator: directory.validator() });
    const keys = await mls.generateSignatureKeyPair();
    const cert = await signDeviceCert(aik, { userId: session.userId, deviceId: session.sessionId, signatureKey: keys.publicKey });
    const registered = await client.registerDevice({
      signaturePublicKey: toBase64(keys.publicKey),
      cert: toBase64(encodeDeviceCert(cert)),
      ...(options.name ? { name: options.name } : {}),
    });
    const store = options.store ?? new MemoryE2eeStore();
    const device = new E2eeDevice(client, mls, session.userId, session.sessionId, aik, keys, directory, registered.status, encodeDeviceCert(cert), store);
    await device.saveDevice();
    if (registered.status === 'active') {
      await device.publishDeviceList();
      await device.uploadKeyPackages();
    }
    return device;
  }

  /**
   * Rebuilds a device from its store after a restart, for the same session: its keys and KeyPackages, what its
   * directory trusts, every chat at the epoch and position it reached, and the sync position, so that the next
   * `sync()` reads on from there. E.g. `const device = await E2eeDevice.load(client, store); await device.sync()`.
   */
  static async load(client: ParleyClient, store: E2eeStore): Promise<E2eeDevice> {
    const bytes = await store.get('device');
    if (!bytes) throw new E2eeError('e2ee_identity_missing', 'The store holds no device');
    const record = unjson<DeviceRecord>(bytes);
    if (record.v !== STORE_VERSION) throw new E2eeError('e2ee_malformed', `Unknown store version ${record.v}`);
    const session = client.session;
    if (session && (session.userId !== record.userId || session.sessionId !== record.deviceId)) {
      throw new E2eeError('e2ee_identity_missing', `The store holds device "${record.deviceId}", not this session's`);
    }
    const directory = new Directory(client);
    const stored = await store.get('directory');
    if (stored) directory.importState(unjson<DirectoryState>(stored));
    const aik = await importAik(fromBase64(record.aik));
    directory.pin(record.userId, aik.publicKey);
    const mls = await createMls({ validator: directory.validator() });
    const keys = { publicKey: fromBase64(record.signatureKey.publicKey), privateKey: fromBase64(record.signatureKey.privateKey) };
    const device = new E2eeDevice(client, mls, record.userId, record.deviceId, aik, keys, directory, record.status, fromBase64(record.cert), store);
    device.storedDirectory = JSON.stringify(directory.exportState());
    for (const [, value] of await store.list('kp/')) {
      const kp = await mls.decodeLocalKeyPackage(value);
      device.keyPackages.set(toBase64(kp.ref), kp);
    }
    const lastResort = await store.get('kp-last-resort');
    if (lastResort) device.lastResort = await mls.decodeLocalKeyPackage(lastResort);
    const cursor = await store.get('cursor');
    if (cursor) device.cursor = unjson<E2eeDevice['cursor']>(cursor);
    const problems = await store.get('problems');
    if (problems) device.problems.push(...unjson<E2eeProblem[]>(problems));
    device.storedProblems = device.problems.length;
    const messages = new Map<string, DecryptedMessage[]>();
    for (const [, value] of await store.list('msg/')) {
      const message = unjson<DecryptedMessage>(value);
      messages.set(message.chatId, [...(messages.get(message.chatId) ?? []), message]);
    }
    for (const [key, value] of await store.list('chat/')) {
      const chatId = key.slice('chat/'.length);
      const chat = new E2eeChat(device, chatId);
      chat.restore(unjson<ChatRecord>(value), messages.get(chatId) ?? []);
      device.chats.set(chatId, chat);
    }
    return device;
  }

  /** Approves a pending device of this account (after comparing the link code on both screens) and lists it. */
  async approve(deviceId: string): Promise<void> {
    const { devices } = await this.client.listDevices({ userId: this.userId });
    const pending = devices.find((d) => d.id === deviceId && d.status === 'pending');
    if (!pending) throw new E2eeError('e2ee_device_pending', `Device "${deviceId}" is not waiting for approval`);
    const cert = await signDeviceCert(this.aik, { userId: this.userId, deviceId, signatureKey: fromBase64(pending.signatureKey) });
    await this.client.approveDevice({ deviceId, cert: toBase64(encodeDeviceCert(cert)) });
    await this.publishDeviceList();
  }

  /** For a device approved by another: becomes active and uploads its KeyPackages. */
  async activate(): Promise<void> {
    const { devices } = await this.client.listDevices({ userId: this.userId });
    const me = devices.find((d) => d.id === this.deviceId);
    if (me?.status !== 'active' || !me.cert) throw new E2eeError('e2ee_device_pending', 'This device has not been approved yet');
    this.status = 'active';
    this.cert = fromBase64(me.cert);
    await this.saveDevice();
    await this.uploadKeyPackages();
  }

  /** Publishes the next version of this account's device list: its active devices, signed with the identity key. */
  async publishDeviceList(): Promise<DeviceList> {
    for (let attempt = 0; ; attempt++) {
      const { devices, deviceList } = await this.client.listDevices({ userId: this.userId });
      const previous = await this.previousDeviceList(deviceList ? decodeDeviceList(fromBase64(deviceList.data)) : undefined);
      const entries = devices
        .filter((d) => d.status === 'active')
        .map((d) => ({ deviceId: d.id, signatureKey: fromBase64(d.signatureKey), issuedAt: Date.parse(d.approvedAt ?? d.createdAt) }));
      const next = await signDeviceList(this.aik, { userId: this.userId, previous, devices: entries });
      try {
        await this.client.publishDeviceList({ version: next.version, data: toBase64(encodeDeviceList(next)) });
        await this.directory.refresh(this.userId);
        await this.write({});
        return next;
      } catch (err) {
        if (codeOf(err) !== 'device_list_conflict' || attempt >= 3) throw err;
      }
    }
  }

  /**
   * The list to sign the next version on top of: the newest this device verified, never merely what the server calls
   * newest. A server that rolled the list back, or shows another list under the same version, would otherwise have
   * this device sign a fork. With nothing verified yet (the account's first list, the first under a new identity key)
   * the server's newest is all there is.
   */
  private async previousDeviceList(offered: DeviceList | undefined): Promise<DeviceList | undefined> {
    if (!this.directory.verifiedDeviceList(this.userId)) return offered;
    const known = (await this.directory.refresh(this.userId))!;
    if (!offered || offered.version < known.head.version) {
      throw new E2eeError(
        'e2ee_device_list_rollback',
        `The server names device list version ${offered?.version ?? 0} as newest; this device verified ${known.head.version}`,
      );
    }
    if (offered.version > known.head.version || !bytesEqual(await hashDeviceList(offered), known.head.hash)) {
      throw new E2eeError('e2ee_device_list_fork', `The server's device list version ${offered.version} is not the one this device verified`);
    }
    return known.list;
  }

  /** Calls `listener` with each problem from now on (see `E2eeProblem`); returns a function that stops it. */
  onProblem(listener: (problem: E2eeProblem) => void): () => void {
    this.problemListeners.add(listener);
    return () => this.problemListeners.delete(listener);
  }

  /** Records a problem and tells the listeners (the chats and the directory of this device call it). */
  tell(problem: E2eeProblem): void {
    this.problems.push(problem);
    for (const listener of this.problemListeners) listener(problem);
  }

  /**
   * The safety number of this account and another, from the identity keys this device trusts (pinned on first use or
   * accepted), e.g. `await device.safetyNumber(bob.id)` shown as 12 groups of 5 digits on both phones. Devices coming
   * and going never change it; an identity reset of either account does. It also asks the server for the user's
   * key: when that changed, `identityChange(userId)` says so (and an `identity_changed` problem is told).
   */
  async safetyNumber(userId: string): Promise<string> {
    const theirs = await this.directory.requireAik(userId);
    await this.directory.checkIdentity(userId);
    await this.write({});
    return safetyNumber({ userId: this.userId, aikPublicKey: this.aik.publicKey }, { userId, aikPublicKey: theirs });
  }

  /** Asks the server whether a contact's identity key is still the one pinned here; a change is told, not trusted. */
  async checkIdentity(userId: string): Promise<IdentityChange | undefined> {
    const change = await this.directory.checkIdentity(userId);
    await this.write({});
    return change;
  }

  /** A contact's changed identity key, seen and not yet accepted. */
  identityChange(userId: string): IdentityChange | undefined {
    return this.directory.identityChange(userId);
  }

  /**
   * Accepts a contact's new identity key (after their account's identity reset, and after comparing the new safety
   * number), and returns the new safety number. Until then, every device certified by the new key is refused: no
   * KeyPackage of it is added, no commit of it is processed. Each chat group this device holds that names the user
   * under the old key then gets a commit updating its roster, so the user's new devices can join it.
   */
  async trustIdentity(userId: string): Promise<string> {
    if (!this.directory.identityChange(userId)) await this.directory.checkIdentity(userId);
    const key = this.directory.trust(userId);
    await this.write({});
    const aikId = await aikIdOf(key);
    for (const chat of this.chats.values()) {
      await chat.resume(userId);
      await chat.updateRoster({ userId, aikId });
    }
    return safetyNumber({ userId: this.userId, aikPublicKey: this.aik.publicKey }, { userId, aikPublicKey: key });
  }

  /** Uploads a batch of single-use KeyPackages, and a last-resort one when there is none yet. */
  async uploadKeyPackages(count = KEY_PACKAGE_BATCH): Promise<void> {
    const made: LocalKeyPackage[] = [];
    for (let i = 0; i < count; i++) made.push(await this.newKeyPackage());
    const lastResort = this.lastResort ? undefined : await this.newKeyPackage();
    // The private halves first: a Welcome to a KeyPackage this device no longer holds cannot be opened.
    const records: Record<string, Uint8Array> = {};
    for (const kp of made) records[keyPackageKey(kp)] = this.mls.encodeLocalKeyPackage(kp);
    if (lastResort) records['kp-last-resort'] = this.mls.encodeLocalKeyPackage(lastResort);
    await this.write(records);
    await this.client.uploadKeyPackages({
      keyPackages: made.map((kp) => toBase64(kp.encoded)),
      ...(lastResort ? { lastResort: toBase64(lastResort.encoded) } : {}),
    });
    for (const kp of made) this.keyPackages.set(toBase64(kp.ref), kp);
    if (lastResort) this.lastResort = lastResort;
  }

  /** A KeyPackage of this device's certificate, kept only here (for a group it creates, or to upload). */
  async newKeyPackage(): Promise<LocalKeyPackage> {
    return this.mls.createKeyPackage({ certificate: this.cert, signatureKeyPair: this.signatureKeyPair });
  }

  /** The private KeyPackages a Welcome may be addressed to (a single-use one is forgotten once used). */
  localKeyPackages(): LocalKeyPackage[] {
    return [...this.keyPackages.values(), ...(this.lastResort ? [this.lastResort] : [])];
  }

  forgetKeyPackage(kp: LocalKeyPackage): void {
    if (kp === this.lastResort) return;
    this.keyPackages.delete(toBase64(kp.ref));
    this.forgotten.add(keyPackageKey(kp));
  }

  /**
   * Writes `records` through the store in one `put`, with whatever else changed on this device since the last write
   * (the directory, problems, KeyPackages used). Throws when the store does: the caller then posts nothing.
   * @internal
   */
  async write(records: Record<string, Uint8Array | null>): Promise<void> {
    const all: Record<string, Uint8Array | null> = { ...records };
    const directory = JSON.stringify(this.directory.exportState());
    if (directory !== this.storedDirectory) all.directory = encoder.encode(directory);
    const problems = this.problems.length;
    if (problems !== this.storedProblems) all.problems = json(this.problems);
    const forgotten = [...this.forgotten];
    for (const key of forgotten) all[key] = null;
    await this.store.put(all);
    this.storedDirectory = directory;
    this.storedProblems = problems;
    for (const key of forgotten) this.forgotten.delete(key);
  }

  private async saveDevice(): Promise<void> {
    const record: DeviceRecord = {
      v: STORE_VERSION,
      userId: this.userId,
      deviceId: this.deviceId,
      status: this.status,
      cert: toBase64(this.cert),
      signatureKey: { publicKey: toBase64(this.signatureKeyPair.publicKey), privateKey: toBase64(this.signatureKeyPair.privateKey) },
      aik: toBase64(await exportAik(this.aik)),
    };
    await this.write({ device: json(record) });
  }

  /** The engine of one end-to-end encrypted chat (made on first use; it reads the chat's log from where this device is). */
  chat(chatId: string): E2eeChat {
    let chat = this.chats.get(chatId);
    if (!chat) {
      chat = new E2eeChat(this, chatId);
      this.chats.set(chatId, chat);
    }
    return chat;
  }

  /** Reads everything new in this device's logs and hands each chat event to its chat, in order. */
  sync(): Promise<void> {
    this.syncing ??= (async () => {
      try {
        for (;;) {
          const changes = await this.client.getChanges({ userSeq: this.cursor.userSeq, chats: this.cursor.chats });
          for (const event of changes.events) await this.handle(event);
          // Each chat stored its state as it went: the position may move past what they hold now.
          const cursor = { userSeq: changes.userSeq, chats: changes.chats };
          await this.write({ cursor: json(cursor) });
          this.cursor = cursor;
          if (!changes.hasMore) break;
        }
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  /** One event from sync or the socket; chat events reach their chat's engine in position order. */
  async handle(event: SyncEvent): Promise<void> {
    if (event.log !== 'chat') return;
    if (event.type === 'mls.commit' || event.message?.kind === 'mls' || this.chats.has(event.chatId)) {
      await this.chat(event.chatId).handle(event);
    }
  }

  // Linking devices and recovery (docs/e2ee.md, "Linking a device", "Recovery"); link.ts has the formats.

  /**
   * Starts linking the client's session as a new device of an account that has an active device: registers it
   * pending with a fresh link key and returns what the new device shows (`payload` for a QR code, `sas()` for the
   * comparison path) and `waitForApproval()`, which gives the active device. E.g.
   * `const link = await E2eeDevice.startLink(client); showQr(link.payload); const device = await link.waitForApproval()`.
   */
  static async startLink(client: ParleyClient, options: { name?: string; pollMs?: number; store?: E2eeStore } = {}): Promise<PendingLink> {
    const session = client.session;
    if (!session) throw new E2eeError('e2ee_identity_missing', 'Sign in first');
    const directory = new Directory(client);
    if (!(await directory.pinnedAik(session.userId)))
      throw new E2eeError('e2ee_identity_missing', 'This account has no identity key yet: set up its first device');
    const mls = await createMls({ validator: directory.validator() });
    const keys = await mls.generateSignatureKeyPair();
    const linkKeys = await mls.hpke().generateKeyPair();
    const registered = await client.registerDevice({
      signaturePublicKey: toBase64(keys.publicKey),
      linkCommitment: toBase64(await linkCommitment(linkKeys.publicKey)),
      ...(options.name ? { name: options.name } : {}),
    });
    if (registered.status !== 'pending') throw new E2eeError('e2ee_device_pending', 'This device is not waiting for approval');
    const target: LinkTarget = { userId: session.userId, deviceId: session.sessionId, signatureKey: keys.publicKey, linkPublicKey: linkKeys.publicKey };
    const finish = async (aik: Aik, cert: Uint8Array): Promise<E2eeDevice> => {
      directory.pin(session.userId, aik.publicKey);
      const store = options.store ?? new MemoryE2eeStore();
      const device = new E2eeDevice(client, mls, session.userId, session.sessionId, aik, keys, directory, 'active', cert, store);
      await device.saveDevice();
      await device.uploadKeyPackages();
      return device;
    };
    return new PendingLink({
      client,
      hpke: mls.hpke(),
      directory,
      target,
      linkPrivateKey: linkKeys.privateKey,
      finish,
      pollMs: options.pollMs ?? LINK_POLL_MS,
    });
  }

  /**
   * Approves the device that shows this link payload (scanned or pasted): checks that the pending device the server
   * lists under its id has the keys the payload names, then seals this account's identity key and the device's
   * certificate to its link key and approves it.
   */
  async approveLink(payload: string): Promise<void> {
    const p = decodeLinkPayload(payload);
    if (p.userId !== this.userId) throw new E2eeError('e2ee_link_failed', 'This link code is for another account');
    const pending = await this.pendingDevice(p.deviceId);
    const commitment = pending.linkCommitment ? fromBase64(pending.linkCommitment) : undefined;
    if (!bytesEqual(fromBase64(pending.signatureKey), p.signatureKey) || !commitment || !bytesEqual(commitment, await linkCommitment(p.linkPublicKey))) {
      throw new E2eeError('e2ee_link_failed', `The device the server lists as "${p.deviceId}" is not the one showing this code`);
    }
    await this.completeLink(p, p.secret);
  }

  /**
   * Starts a short-authentication-string comparison with a pending device of this account: sends it a fresh key,
   * waits for its link key (which must match what it committed to at registration) and returns the code to show.
   * When the user says both screens show the same code, `confirmSas(session)`.
   */
  async startSas(deviceId: string, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<SasSession> {
    const pending = await this.pendingDevice(deviceId);
    if (!pending.linkCommitment) throw new E2eeError('e2ee_link_failed', `Device "${deviceId}" did not register a link key`);
    const hpke = this.mls.hpke();
    const approverKeys = await hpke.generateKeyPair();
    await this.client.postDeviceLink({ deviceId, data: toBase64(encodeLinkMessage({ kind: 'sas_start', approverKey: approverKeys.publicKey })) });
    const reveal = await receiveLink(this.client, { from: deviceId, kind: 'sas_reveal', timeoutMs: options.timeoutMs, pollMs: options.pollMs });
    if (!bytesEqual(fromBase64(pending.linkCommitment), await linkCommitment(reveal.linkPublicKey))) {
      throw new E2eeError('e2ee_link_failed', `Device "${deviceId}" revealed another link key than it committed to`);
    }
    const target: LinkTarget = { userId: this.userId, deviceId, signatureKey: fromBase64(pending.signatureKey), linkPublicKey: reveal.linkPublicKey };
    const transcript = { target, approverDeviceId: this.deviceId, approverKey: approverKeys.publicKey, aikPublicKey: this.aik.publicKey };
    return new SasSession(await sasCode(transcript), transcript, approverKeys.privateKey);
  }

  /**
   * The user saw the same code on both screens (and confirmed it on the new device too): takes the new device's
   * confirmation, then seals the identity key to it and approves it.
   */
  async confirmSas(session: SasSession, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<void> {
    const { target } = session.transcript;
    const message = await receiveLink(this.client, { from: target.deviceId, kind: 'sas_secret', timeoutMs: options.timeoutMs, pollMs: options.pollMs });
    const secret = await openSasSecret(this.mls.hpke(), { ...session.transcript, approverPrivateKey: session.approverPrivateKey, sealed: message.sealed });
    await this.completeLink(target, secret);
  }

  private async pendingDevice(deviceId: string): Promise<Device> {
    const { devices } = await this.client.listDevices({ userId: this.userId });
    const pending = devices.find((d) => d.id === deviceId && d.status === 'pending');
    if (!pending) throw new E2eeError('e2ee_device_pending', `Device "${deviceId}" is not waiting for approval`);
    return pending;
  }

  /** Seals what the new device needs to its link key, then approves it (signing over the key checked) and lists it. */
  private async completeLink(target: LinkTarget, secret: Uint8Array): Promise<void> {
    const cert = encodeDeviceCert(await signDeviceCert(this.aik, { userId: this.userId, deviceId: target.deviceId, signatureKey: target.signatureKey }));
    const aikPkcs8 = await exportAik(this.aik);
    const sealed = await sealLinkEnvelope(this.mls.hpke(), { target, secret, envelope: { aikPkcs8, cert } });
    aikPkcs8.fill(0);
    await this.client.postDeviceLink({ deviceId: target.deviceId, data: toBase64(encodeLinkMessage({ kind: 'envelope', sealed })) });
    await this.client.approveDevice({ deviceId: target.deviceId, cert: toBase64(cert) });
    await this.publishDeviceList();
  }

  /**
   * Makes a new recovery key for this account, stores the identity key on the server encrypted with it, and returns
   * it formatted to show the user once (a new one replaces the old).
   */
  async createRecoveryKey(): Promise<string> {
    const recoveryKey = generateRecoveryKey();
    const blob = await sealAikEscrow({ aik: this.aik, recoveryKey, userId: this.userId });
    await this.client.putIdentity({ publicKey: toBase64(this.aik.publicKey), recoveryBlob: toBase64(blob) });
    return formatRecoveryKey(recoveryKey);
  }

  /**
   * Sets up the client's session as a device of an account none of whose devices is left, with the recovery key:
   * opens the identity key from the server's backup, registers and approves this device itself (the server allows
   * it only while the account has no active device), publishes the next device list and uploads KeyPackages. Its
   * chats are then joined by `chat(id).start()`. A wrong key is `e2ee_recovery_failed` and changes nothing.
   */
  static async recover(client: ParleyClient, recoveryKey: string, options: { name?: string; store?: E2eeStore } = {}): Promise<E2eeDevice> {
    const session = client.session;
    if (!session) throw new E2eeError('e2ee_identity_missing', 'Sign in first');
    const key = parseRecoveryKey(recoveryKey);
    const directory = new Directory(client);
    const published = await directory.requireAik(session.userId);
    const { recoveryBlob } = await client.getRecovery();
    const aik = await openAikEscrow({ blob: fromBase64(recoveryBlob), recoveryKey: key, userId: session.userId });
    if (!bytesEqual(aik.publicKey, published)) throw new E2eeError('e2ee_recovery_failed', 'The recovery backup holds another identity key than the account’s');
    const mls = await createMls({ validator: directory.validator() });
    const keys = await mls.generateSignatureKeyPair();
    const cert = encodeDeviceCert(await signDeviceCert(aik, { userId: session.userId, deviceId: session.sessionId, signatureKey: keys.publicKey }));
    let registered = await client.registerDevice({
      signaturePublicKey: toBase64(keys.publicKey),
      cert: toBase64(cert),
      ...(options.name ? { name: options.name } : {}),
    });
    // Pending when another device of the account is still pending: with no active one left, it approves itself.
    if (registered.status === 'pending') registered = await client.approveDevice({ deviceId: session.sessionId, cert: toBase64(cert) });
    const store = options.store ?? new MemoryE2eeStore();
    const device = new E2eeDevice(client, mls, session.userId, session.sessionId, aik, keys, directory, registered.status, cert, store);
    await device.saveDevice();
    await device.publishDeviceList();
    await device.uploadKeyPackages();
    return device;
  }
}

/** The devices a commit adds and removes, as the server is told (it checks them against the chat's members). */
interface Declared {
  addDevices?: DeviceRef[];
  removeDevices?: DeviceRef[];
}

/** A pending or sent message of this device: MLS does not let a device decrypt what it sent itself. */
interface OwnSend {
  text: string;
}

/** One chat's MLS group as this device holds it. */
export class E2eeChat {
  group: MlsGroup | undefined;
  /** The last position of the chat log processed. */
  seq = 0;
  /** Positions this device could not read, and why. */
  readonly messages = new Map<string, DecryptedMessage>();
  /**
   * Set when this device refused a commit of the chat's log (a device not certified by its owner's pinned key or not
   * in their signed list, an external commit removing someone else, a policy violation): the group stays at the
   * epoch before it, nothing later is decrypted or sent, and the chat needs a group reset.
   */
  blocked: { seq: number; reason: string } | undefined;
  /**
   * Set when a commit of the log brings a device certified by a contact's new identity key that this device has not
   * accepted: the chat waits at that position (what follows is kept, not applied) until `trustIdentity(userId)`.
   */
  awaitingIdentity: { seq: number; userId: string } | undefined;
  private readonly waiting: ChatEvent[] = [];
  /**
   * This device's commits posted and not yet seen in the log: the state each makes while the server has not said it
   * took it (kept so that a device that stopped before hearing finds it in the log), undefined once it did.
   */
  private readonly ownCommits = new Map<string, MlsGroup | undefined>();
  /** Messages changed since the state was last stored. */
  private readonly unsaved = new Set<string>();
  /** SHA-256 of every ciphertext read or sent here, with the message it belongs to: a replay names another. */
  private readonly ciphertexts = new Map<string, string>();
  private readonly ownSends = new Map<string, OwnSend>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly device: E2eeDevice,
    readonly chatId: string,
  ) {}

  /** Runs one change at a time: the group state never advances from two places at once. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  handle(event: ChatEvent): Promise<void> {
    return this.serial(async () => {
      if (await this.apply(event)) await this.save();
    });
  }

  /** Writes the chat's state, and the messages changed since the last time, through the device's store. */
  private async save(): Promise<void> {
    const mls = this.device.mls;
    const encode = (group: MlsGroup | undefined) => (group ? toBase64(mls.encodeState(group)) : null);
    const record: ChatRecord = {
      v: STORE_VERSION,
      seq: this.seq,
      group: encode(this.group),
      ownCommits: [...this.ownCommits].map(([id, group]) => [id, encode(group)]),
      ownSends: [...this.ownSends].map(([id, own]) => [id, own.text]),
      ciphertexts: [...this.ciphertexts].slice(-STORED_DIGESTS),
      blocked: this.blocked ?? null,
      awaitingIdentity: this.awaitingIdentity ?? null,
      waiting: this.waiting,
    };
    const changed = [...this.unsaved];
    const records: Record<string, Uint8Array | null> = { [`chat/${this.chatId}`]: json(record) };
    for (const id of changed) {
      const message = this.messages.get(id);
      records[`msg/${this.chatId}/${id}`] = message ? json(message) : null;
    }
    await this.device.write(records);
    for (const id of changed) this.unsaved.delete(id);
  }

  /**
   * Takes back the state `save` stored (see `E2eeDevice.load`).
   * @internal
   */
  restore(record: ChatRecord, messages: readonly DecryptedMessage[]): void {
    const mls = this.device.mls;
    if (record.v !== STORE_VERSION) throw new E2eeError('e2ee_malformed', `Unknown stored chat version ${record.v}`);
    this.group = record.group === null ? undefined : mls.restoreState(fromBase64(record.group));
    this.seq = record.seq;
    for (const [id, group] of record.ownCommits) this.ownCommits.set(id, group === null ? undefined : mls.restoreState(fromBase64(group)));
    for (const [id, text] of record.ownSends) this.ownSends.set(id, { text });
    for (const [digest, id] of record.ciphertexts) this.ciphertexts.set(digest, id);
    this.blocked = record.blocked ?? undefined;
    this.awaitingIdentity = record.awaitingIdentity ?? undefined;
    this.waiting.push(...record.waiting);
    for (const message of messages) this.messages.set(message.id, message);
  }

  /** The chat's messages this device has read, in position order, edits applied. */
  timeline(): DecryptedMessage[] {
    return [...this.messages.values()].sort((a, b) => a.seq - b.seq);
  }

  /** Applies one event of the log; false when it was applied before (nothing to store). */
  private async apply(event: ChatEvent): Promise<boolean> {
    if (event.seq <= this.seq) return false;
    if (this.awaitingIdentity) {
      if (!this.waiting.some((e) => e.seq === event.seq)) this.waiting.push(event);
      return true;
    }
    if (event.type === 'mls.commit' && event.mls) {
      if ((await this.applyCommit(event.mls, event.seq)) === 'waiting') {
        this.waiting.push(event);
        return true;
      }
    } else if (event.message) this.applyMessage(event, event.message);
    this.seq = event.seq;
    if (event.message && event.type === 'message.created' && event.message.kind === 'mls') await this.decrypt(event.message);
    return true;
  }

  /** After the identity key a commit waited for was accepted: applies what the chat kept, in order. */
  resume(userId: string): Promise<void> {
    return this.serial(async () => {
      if (this.awaitingIdentity?.userId !== userId) return;
      this.awaitingIdentity = undefined;
      const events = this.waiting.splice(0).sort((a, b) => a.seq - b.seq);
      for (const event of events) await this.apply(event);
      await this.save();
    });
  }

  private async applyCommit(mls: NonNullable<ChatEvent['mls']>, seq: number): Promise<'waiting' | undefined> {
    // My own commit: the state it produced was kept when the server accepted it, or is kept now if this device did
    // not hear that it did (it stopped, or the response was lost).
    if (mls.senderDeviceId === this.device.deviceId && this.ownCommits.has(mls.clientCommitId)) {
      const made = this.ownCommits.get(mls.clientCommitId);
      this.ownCommits.delete(mls.clientCommitId);
      if (made) this.group = made;
      this.dropLostCommits();
      return;
    }
    if (this.blocked) return;
    if (!this.group || !this.group.active) {
      if (!mls.welcome || !mls.addedDevices.some((d) => d.deviceId === this.device.deviceId)) return undefined;
      try {
        await this.join(fromBase64(mls.welcome));
      } catch (err) {
        if (isNetworkFailure(err)) throw err;
        if (!(err instanceof E2eeError) || err.code === 'mls_process_failed') {
          // Not for this device after all (its KeyPackages are gone): it can still join by external commit (start).
          this.report('welcome_failed', seq);
          return undefined;
        }
        if ((await this.device.directory.refusedForIdentityChange()) !== undefined) {
          this.awaitingIdentity = { seq, userId: this.device.directory.lastRefusal!.userId };
          return 'waiting';
        }
        this.block(seq, err, 'welcome_failed');
      }
      return undefined;
    }
    this.device.directory.lastRefusal = undefined;
    try {
      const result = await this.device.mls.process(this.group, fromBase64(mls.payload));
      this.group = result.group;
      this.dropLostCommits();
    } catch (err) {
      // A network failure (fetching a device list) is retried by the next sync; anything else is a refusal.
      if (isNetworkFailure(err)) throw err;
      // A device of a contact's new identity key: not refused for good, but not taken before the user accepts it.
      const userId = await this.device.directory.refusedForIdentityChange();
      if (userId !== undefined) {
        this.awaitingIdentity = { seq, userId };
        return 'waiting';
      }
      this.block(seq, err);
    }
    return undefined;
  }

  /** Forgets own commits not heard of whose epoch another commit (or one of them) took. */
  private dropLostCommits(): void {
    const epoch = this.group?.epoch;
    if (epoch === undefined) return;
    for (const [id, made] of this.ownCommits) if (made && made.epoch <= epoch) this.ownCommits.delete(id);
  }

  /** Refuses a commit for good: the chat is blocked, the server told (cause only), the user told (a problem). */
  private block(seq: number, err: unknown, cause: MlsFailureCause = 'commit_rejected'): void {
    const refusal = this.device.directory.lastRefusal;
    const why = errorText(err);
    const reason = refusal && /credential/i.test(why) ? `${why}: ${describe(refusal)}` : why;
    this.blocked = { seq, reason };
    this.report(cause, seq);
    this.device.tell({ kind: 'chat_blocked', chatId: this.chatId, seq, reason });
  }

  private requireUnblocked(): void {
    if (this.blocked) {
      throw new E2eeError('e2ee_chat_blocked', `This chat is blocked since position ${this.blocked.seq}: ${this.blocked.reason}`);
    }
    if (this.awaitingIdentity) {
      const { seq, userId } = this.awaitingIdentity;
      throw new E2eeError('e2ee_identity_changed', `User "${userId}" has a new identity key (position ${seq}): accept it before this chat goes on`);
    }
  }

  /** Tells the server what failed where (a cause and a position, never content), for its metrics; best effort. */
  private report(cause: MlsFailureCause, seq: number): void {
    this.device.client.reportMlsFailure({ chatId: this.chatId, cause, seq }).catch(() => {});
  }

  private async join(welcome: Uint8Array): Promise<void> {
    const directory = this.device.directory;
    directory.lastRefusal = undefined;
    for (const kp of this.device.localKeyPackages()) {
      try {
        this.group = await this.device.mls.joinFromWelcome({ welcome, keyPackage: kp });
        this.device.forgetKeyPackage(kp);
        return;
      } catch (err) {
        if (isNetworkFailure(err)) throw err;
        if (err instanceof E2eeError && err.code === 'mls_policy_violation') throw err;
        // It opened, and its tree holds a device this one does not trust.
        const refusal = directory.lastRefusal;
        if (refusal) throw new E2eeError('e2ee_untrusted_device', `${errorText(err)}: ${describe(refusal)}`, { cause: err });
        // Addressed to another of my KeyPackages: try the next.
      }
    }
    throw new E2eeError('mls_process_failed', 'A Welcome names this device, but none of its KeyPackages opens it');
  }

  private applyMessage(event: ChatEvent, message: Message): void {
    const known = this.messages.get(message.id);
    if (known && (event.type === 'message.deleted' || message.deletedAt !== null)) {
      this.messages.set(message.id, { ...known, text: null, deleted: true });
      this.unsaved.add(message.id);
    }
  }

  private async decrypt(message: Message): Promise<void> {
    const base = {
      id: message.id,
      chatId: message.chatId,
      seq: message.seq,
      senderId: message.senderId,
      replyToId: message.replyToId,
      createdAt: message.createdAt,
      editedAt: message.editedAt,
      deleted: message.deletedAt !== null,
    };
    const own = message.senderId === this.device.userId ? this.ownSends.get(message.clientMessageId) : undefined;
    // Its plaintext is in the message read from now on.
    if (own) this.ownSends.delete(message.clientMessageId);
    // A ciphertext already read at another message is a replay, whatever MLS would say of it (its key is spent).
    const digest = message.mls ? await ciphertextDigest(message.mls.ciphertext) : undefined;
    const firstAt = digest === undefined ? undefined : this.ciphertexts.get(digest);
    if (digest !== undefined && firstAt === undefined) this.ciphertexts.set(digest, message.id);
    let read: Pick<DecryptedMessage, 'text' | 'senderDeviceId' | 'problem'>;
    if (!message.mls) read = { text: null, senderDeviceId: null };
    else if (firstAt !== undefined && firstAt !== message.id) read = { text: null, senderDeviceId: null, problem: 'replayed' };
    else if (own) read = { text: own.text, senderDeviceId: this.device.deviceId };
    else if (this.blocked) read = { text: null, senderDeviceId: null, problem: 'blocked' };
    else if (!this.group) read = { text: null, senderDeviceId: null, problem: 'before_join' };
    else {
      try {
        const result = await this.device.mls.process(this.group, fromBase64(message.mls.ciphertext));
        if (result.kind !== 'application') throw new E2eeError('mls_unexpected_message', 'A commit in a message');
        this.group = result.group;
        // The server says who sent it; MLS proves which device did. They must agree.
        const payload = parsePayload(result.plaintext);
        if (result.sender.userId !== message.senderId) read = { text: null, senderDeviceId: result.sender.deviceId, problem: 'sender_mismatch' };
        else if (
          payload.editOf !== (message.mls.editOf ?? null) ||
          payload.replyToId !== message.replyToId ||
          (payload.clientMessageId !== undefined && payload.clientMessageId !== message.clientMessageId)
        ) {
          read = { text: null, senderDeviceId: result.sender.deviceId, problem: 'metadata_mismatch' };
        } else read = { text: payload.text, senderDeviceId: result.sender.deviceId };
      } catch {
        read = { text: null, senderDeviceId: null, problem: 'undecryptable' };
      }
    }
    if (read.problem && read.problem !== 'before_join' && read.problem !== 'blocked') this.report(read.problem, message.seq);
    const editOf = message.mls?.editOf;
    if (editOf) {
      const original = this.messages.get(editOf);
      if (original && original.senderId === message.senderId && read.text !== null && !read.problem) {
        this.messages.set(editOf, { ...original, text: read.text, editedAt: message.createdAt });
        this.unsaved.add(editOf);
      }
      return;
    }
    this.messages.set(message.id, { ...base, ...read });
    this.unsaved.add(message.id);
  }

  /**
   * Puts this device in the chat's group. When the chat has none, creates it: every active device of every member
   * (KeyPackages claimed from the server, mine but this one included) is added in the first commit, which makes the
   * chat end-to-end encrypted. When it has one and this device holds no state of it (a device approved later, or
   * one that lost its state), joins by an external commit from the newest GroupInfo, replacing its own old leaf if
   * there is one; what was sent before stays unreadable here, labelled `before_join`.
   */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.serial(() => this.startOnce());
      if (outcome === 'done') return;
      if (attempt >= SEND_ATTEMPTS) throw new E2eeError('e2ee_send_failed', 'Another device\u2019s commit came first every time');
      await this.device.sync();
    }
  }

  private async startOnce(): Promise<'done' | 'conflict'> {
    this.requireUnblocked();
    if (this.group?.active) return 'done';
    const existing = await this.device.client.getGroupInfo({ chatId: this.chatId }).catch((err: unknown) => {
      if (codeOf(err) === 'not_found') return undefined;
      throw err;
    });
    if (existing) return this.joinExternal(existing.data);
    await this.create();
    return 'done';
  }

  private async joinExternal(groupInfo: string): Promise<'done' | 'conflict'> {
    const keyPackage = await this.device.newKeyPackage();
    const bytes = fromBase64(groupInfo);
    // Ended devices still in the tree (a recovered account's old ones, pending removal) do not stop the join.
    const mls = await createMls({ validator: this.device.directory.joinValidator() });
    const bundle = await mls.joinExternal({ groupInfo: bytes, keyPackage, resync: true }).catch((err: unknown) => {
      if (err instanceof E2eeError && err.code === 'mls_resync_no_leaf') return mls.joinExternal({ groupInfo: bytes, keyPackage, resync: false });
      throw err;
    });
    const accepted = await this.postCommit(bundle, {});
    if (accepted === 'conflict') return 'conflict';
    this.seq = Math.max(this.seq, accepted.seq);
    return 'done';
  }

  private async create(): Promise<void> {
    const members = (await this.device.client.listMembers({ chatId: this.chatId })).members.map((m) => m.user.id);
    const roster = await Promise.all(members.map(async (userId) => ({ userId, aikId: await aikIdOf(await this.device.directory.requireAik(userId)) })));
    const claimed = await this.claim(members);
    const own = await this.device.newKeyPackage();
    const created = await this.device.mls.createGroup({ keyPackage: own, roster });
    this.device.directory.lastRefusal = undefined;
    const bundle =
      claimed.length > 0
        ? await this.device.mls
            .addDevices(
              created,
              claimed.map((k) => fromBase64(k.data)),
            )
            .catch((err: unknown) => {
              // A KeyPackage of a key not pinned for its user, or of a device not in their signed list: no group with it.
              const refusal = this.device.directory.lastRefusal;
              if (!refusal) throw err;
              throw new E2eeError('e2ee_untrusted_device', `${errorText(err)}: ${describe(refusal)}`, { cause: err });
            })
        : await this.device.mls.selfUpdate(created);
    // Another device created it first when this conflicts: its Welcome comes through the log.
    await this.postCommit(bundle, {
      init: { groupId: toBase64(created.groupId), cipherSuite: 1 },
      addDevices: claimed.map((k) => ({ userId: k.userId, deviceId: k.deviceId })),
    });
  }

  private async claim(userIds: string[]): Promise<ClaimedKeyPackage[]> {
    const { keyPackages } = await this.device.client.claimKeyPackages({ chatId: this.chatId, userIds });
    return keyPackages.filter((k) => k.deviceId !== this.device.deviceId);
  }

  /**
   * Encrypts and sends a text. At most one send or commit runs at a time; a send that finds the group moved on
   * (another device committed) catches up and encrypts again, and one that finds an ended device still in the
   * group first commits its removal. The state advanced by each encryption is kept, sent or not, so no key is
   * ever used twice.
   */
  async send(text: string, options: { replyToId?: string; editOf?: string } = {}): Promise<Message> {
    const clientMessageId = randomId();
    const payload = encodePayload({ v: PAYLOAD_VERSION, text, editOf: options.editOf ?? null, replyToId: options.replyToId ?? null, clientMessageId });
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.serial(async () => {
        this.requireUnblocked();
        if (!this.group) throw new E2eeError('e2ee_send_failed', 'This device is not in the chat\u2019s group yet');
        const epoch = Number(this.group.epoch);
        const { group, message } = await this.device.mls.encrypt(this.group, payload);
        this.group = group;
        this.ownSends.set(clientMessageId, { text });
        // The advanced state is stored before the ciphertext leaves: a device loaded later never encrypts with its key again.
        await this.save();
        try {
          const sent = await this.device.client.sendMessage({
            chatId: this.chatId,
            clientMessageId,
            ...(options.replyToId ? { replyToId: options.replyToId } : {}),
            mls: { epoch, ciphertext: toBase64(message), ...(options.editOf ? { editOf: options.editOf } : {}) },
          });
          const digest = await ciphertextDigest(toBase64(message));
          if (!this.ciphertexts.has(digest)) this.ciphertexts.set(digest, sent.id);
          return sent;
        } catch (err) {
          const code = codeOf(err);
          if (attempt < SEND_ATTEMPTS && (code === 'mls_epoch_conflict' || code === 'mls_commit_required')) return code;
          throw err;
        }
      });
      if (typeof outcome !== 'string') return outcome;
      await this.device.sync();
      if (outcome === 'mls_commit_required') await this.removeEndedDevices();
    }
  }

  /** Commits the removal of every device in the group whose owner's account no longer lists it as active. */
  removeEndedDevices(): Promise<void> {
    return this.commitUntilAccepted(async (group) => {
      const members = group.members();
      const active = new Set<string>();
      for (const userId of new Set(members.map((m) => m.userId))) {
        const { devices } = await this.device.client.listDevices({ userId });
        for (const d of devices) if (d.status === 'active') active.add(d.id);
      }
      const ended: DeviceRef[] = members.filter((m) => !active.has(m.deviceId)).map((m) => ({ userId: m.userId, deviceId: m.deviceId }));
      if (ended.length === 0) return undefined;
      // Every device of a contact ended at once is what an identity reset looks like: ask (a change is told).
      for (const userId of new Set(ended.map((d) => d.userId))) {
        if (userId !== this.device.userId && !members.some((m) => m.userId === userId && active.has(m.deviceId))) await this.device.checkIdentity(userId);
      }
      return { bundle: await this.device.mls.removeDevices(group, ended), declared: { removeDevices: ended } };
    });
  }

  /**
   * After a contact's new identity key was accepted: one commit naming it in the roster in place of the old one and
   * removing the user's leaves certified by the old key, so that devices of the new key may join. Nothing when the
   * roster already names it (or the user is not in it).
   */
  updateRoster(entry: RosterEntry): Promise<void> {
    if (!this.group?.active || this.blocked || this.awaitingIdentity) return Promise.resolve();
    return this.commitUntilAccepted(async (group) => {
      const roster = group.roster();
      const old = roster.find((r) => r.userId === entry.userId);
      if (!old || bytesEqual(old.aikId, entry.aikId)) return undefined;
      const next = roster.map((r) => (r.userId === entry.userId ? entry : r));
      const stale: DeviceRef[] = group
        .members()
        .filter((m) => m.userId === entry.userId && !bytesEqual(m.aikId, entry.aikId))
        .map((m) => ({ userId: m.userId, deviceId: m.deviceId }));
      const bundle =
        stale.length > 0 ? await this.device.mls.removeDevices(group, stale, { roster: next }) : await this.device.mls.addDevices(group, [], { roster: next });
      return { bundle, declared: stale.length > 0 ? { removeDevices: stale } : {} };
    });
  }

  /** An empty commit with a fresh path for this device: new keys for it, so a leaked old key reads nothing new. */
  update(): Promise<void> {
    return this.commitUntilAccepted(async (group) => ({ bundle: await this.device.mls.selfUpdate(group), declared: {} }));
  }

  /**
   * Makes a commit at the current epoch and posts it; when another device's commit took that epoch first, catches
   * up and makes it again. `make` returns undefined when there is nothing (left) to commit.
   */
  private async commitUntilAccepted(make: (group: MlsGroup) => Promise<{ bundle: CommitBundle; declared: Declared } | undefined>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.serial(async () => {
        this.requireUnblocked();
        if (!this.group?.active) throw new E2eeError('e2ee_send_failed', 'This device is not in the chat\u2019s group');
        const made = await make(this.group);
        if (!made) return 'done';
        return (await this.postCommit(made.bundle, made.declared)) === 'conflict' ? 'conflict' : 'done';
      });
      if (outcome === 'done') return;
      if (attempt >= SEND_ATTEMPTS) throw new E2eeError('e2ee_send_failed', 'Another device\u2019s commit came first every time');
      await this.device.sync();
    }
  }

  /**
   * Posts a commit, framed at the epoch before the one it makes (0 for a group's first, with `init`); keeps its
   * state and says its position when accepted, 'conflict' when another commit took that epoch first.
   */
  private async postCommit(
    bundle: CommitBundle,
    declared: Declared & { init?: { groupId: string; cipherSuite: number } },
  ): Promise<{ seq: number } | 'conflict'> {
    const clientCommitId = randomId();
    // Stored before it is posted: the log's copy of it names the state it makes, even after a restart.
    this.ownCommits.set(clientCommitId, bundle.group);
    try {
      await this.save();
    } catch (err) {
      this.ownCommits.delete(clientCommitId);
      throw err;
    }
    let accepted: { seq: number };
    try {
      accepted = await this.device.client.postCommit({
        chatId: this.chatId,
        clientCommitId,
        epoch: Number(bundle.group.epoch) - 1,
        commit: toBase64(bundle.commit),
        groupInfo: toBase64(bundle.groupInfo),
        ...(bundle.welcome ? { welcome: toBase64(bundle.welcome) } : {}),
        ...(declared.init ? { init: declared.init } : {}),
        ...(declared.addDevices ? { addDevices: declared.addDevices } : {}),
        ...(declared.removeDevices ? { removeDevices: declared.removeDevices } : {}),
      });
    } catch (err) {
      // Any other failure may hide an accepted commit (a lost response): the log will say, and the state is kept.
      if (codeOf(err) !== 'mls_epoch_conflict') throw err;
      this.ownCommits.delete(clientCommitId);
      await this.save();
      return 'conflict';
    }
    this.group = bundle.group;
    this.ownCommits.set(clientCommitId, undefined);
    await this.save();
    return accepted;
  }
}

/** A server that could not be reached, directly or from inside the MLS library (a device list being fetched). */
function isNetworkFailure(err: unknown): boolean {
  return err instanceof ParleyError || (err instanceof Error && err.cause instanceof ParleyError);
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const keyPackageKey = (kp: LocalKeyPackage): string => `kp/${toBase64(kp.ref)}`;
const describe = (r: Refusal): string => `device "${r.deviceId}" of user "${r.userId}": ${r.reason}`;

async function ciphertextDigest(base64: string): Promise<string> {
  return toBase64(await sha256(fromBase64(base64)));
}

export function encodePayload(payload: Payload): Uint8Array {
  return encoder.encode(JSON.stringify(payload));
}

const idOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

function parsePayload(bytes: Uint8Array): Payload {
  const parsed = JSON.parse(decoder.decode(bytes)) as Partial<Payload>;
  if (
    parsed.v !== PAYLOAD_VERSION ||
    typeof parsed.text !== 'string' ||
    !idOrNull(parsed.editOf) ||
    !idOrNull(parsed.replyToId) ||
    (parsed.clientMessageId !== undefined && typeof parsed.clientMessageId !== 'string')
  ) {
    throw new E2eeError('e2ee_malformed', 'Unknown message payload');
  }
  return {
    v: parsed.v,
    text: parsed.text,
    editOf: parsed.editOf,
    replyToId: parsed.replyToId,
    ...(parsed.clientMessageId !== undefined ? { clientMessageId: parsed.clientMessageId } : {}),
  };
}
