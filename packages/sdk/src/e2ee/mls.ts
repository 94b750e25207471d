import * as tsMls from 'ts-mls';
import type {
  CiphersuiteImpl,
  ClientConfig,
  ClientState,
  Extension,
  GroupInfo,
  KeyPackage,
  KeyPackageEqualityConfig,
  LeafNode,
  MLSMessage,
  PrivateKeyPackage,
  PrivateMessage,
  Proposal,
  PublicMessage,
  RatchetTree,
  Welcome,
} from 'ts-mls';
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js';
import { decryptSenderData } from 'ts-mls/privateMessage.js';
import { decodeRatchetTree } from 'ts-mls/ratchetTree.js';
import { bytesEqual, TlsReader, TlsWriter } from './codec.ts';
import { E2eeError } from './errors.ts';
import { decodeDeviceCert, type CredentialValidator } from './identity.ts';
import { padPayload, unpadPayload } from './padding.ts';

// The only module that imports ts-mls (pinned to 1.6.4, see docs/e2ee.md). It turns the library into the few
// operations Parley needs, with Parley's configuration always attached (D5), identity-based leaf equality (D3), a
// guard around resync (D2) and a policy check on every new state before it can be kept (D4, D6, roster).

/** ts-mls as this module uses it: the index plus three deep imports the 1.x index does not re-export. */
export type MlsLibrary = typeof tsMls & {
  decodeRatchetTree: typeof decodeRatchetTree;
  decryptSenderData: typeof decryptSenderData;
  makeKeyPackageRef: typeof makeKeyPackageRef;
};

const defaultLibrary: MlsLibrary = { ...tsMls, decodeRatchetTree, decryptSenderData, makeKeyPackageRef };

/** MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519: X25519, AES-128-GCM, SHA-256, Ed25519. */
export const PARLEY_CIPHERSUITE = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519' as const;
/** Group-context extension `parley.roster`: the users (and their AIK ids) allowed to hold leaves. */
export const ROSTER_EXTENSION = 0xf0a1;
const STATE_FORMAT_TS_MLS_1 = 1;
const KEY_PACKAGE_LIFETIME_SECONDS = 90n * 24n * 3600n;

export interface RosterEntry {
  readonly userId: string;
  /** First 16 bytes of SHA-256 of the user's AIK public key. */
  readonly aikId: Uint8Array;
}

/** A leaf of the group, as its device certificate names it. */
export interface MlsMember {
  readonly leafIndex: number;
  readonly userId: string;
  readonly deviceId: string;
  readonly aikId: Uint8Array;
  readonly signatureKey: Uint8Array;
}

export interface DeviceRef {
  readonly userId: string;
  readonly deviceId: string;
}

/** A KeyPackage this device generated, with its private half (store it encrypted; see encodeLocalKeyPackage). */
export interface LocalKeyPackage {
  readonly publicPackage: KeyPackage;
  readonly privatePackage: PrivateKeyPackage;
  /** The KeyPackage as an MLSMessage, as uploaded to the server. */
  readonly encoded: Uint8Array;
  /** KeyPackageRef: how a Welcome names the package it is for. */
  readonly ref: Uint8Array;
}

/** What a commit produced: the new state to keep once the server accepted the commit, and what to upload. */
export interface CommitBundle {
  readonly group: MlsGroup;
  /** The commit, an MLSMessage carrying a PublicMessage. */
  readonly commit: Uint8Array;
  /** A Welcome for added devices (ratchet tree included in it), when devices were added. */
  readonly welcome?: Uint8Array;
  /** GroupInfo of the new epoch with external_pub and ratchet tree, for external joins. */
  readonly groupInfo: Uint8Array;
}

export type ProcessResult =
  | { kind: 'application'; group: MlsGroup; plaintext: Uint8Array; sender: MlsMember }
  | { kind: 'commit'; group: MlsGroup; added: MlsMember[]; removed: MlsMember[]; external: boolean };

/** One MLS group state, immutable: every operation returns a new MlsGroup and leaves this one as it was. */
export class MlsGroup {
  /** The library state. Internal: only mls.ts and its tests look inside. */
  readonly state: ClientState;

  constructor(state: ClientState) {
    this.state = state;
  }

  get groupId(): Uint8Array {
    return this.state.groupContext.groupId;
  }

  get epoch(): bigint {
    return this.state.groupContext.epoch;
  }

  /** Equal on every member at the same epoch; a "group code" can be shown from it. */
  get epochAuthenticator(): Uint8Array {
    return this.state.keySchedule.epochAuthenticator;
  }

  get ownLeafIndex(): number {
    return this.state.privatePath.leafIndex;
  }

  /** False once this device processed its own removal. */
  get active(): boolean {
    return this.state.groupActiveState.kind === 'active';
  }

  members(): MlsMember[] {
    return membersOf(this.state.ratchetTree);
  }

  roster(): RosterEntry[] {
    return rosterOf(this.state.groupContext.extensions);
  }
}

/**
 * Parley's MLS operations over one library instance, e.g.
 * `const mls = await createMls({ validator: createAuthenticationService(lookup) })`.
 * `library` exists for the regression test that runs the same code against an older ts-mls.
 */
export async function createMls(options: { validator: CredentialValidator; library?: MlsLibrary }): Promise<Mls> {
  const lib = options.library ?? defaultLibrary;
  const cs = await lib.getCiphersuiteImpl(lib.getCiphersuiteFromName(PARLEY_CIPHERSUITE));
  return new Mls(lib, cs, options.validator);
}

export class Mls {
  /** Parley's client configuration; attached to every state this class creates or restores (D5). */
  readonly config: ClientConfig;

  constructor(
    private readonly lib: MlsLibrary,
    private readonly cs: CiphersuiteImpl,
    validator: CredentialValidator,
  ) {
    this.config = {
      // One past epoch: the log is processed in order and the server takes messages only at the current epoch.
      keyRetentionConfig: { retainKeysForEpochs: 1, retainKeysForGenerations: 10, maximumForwardRatchetSteps: 1000 },
      lifetimeConfig: lib.defaultLifetimeConfig,
      keyPackageEqualityConfig: identityEquality,
      paddingConfig: { kind: 'padUntilLength', padUntilLength: 256 },
      authService: {
        async validateCredential(credential, signaturePublicKey) {
          return credential.credentialType === 'basic' && validator.validate(credential.identity, signaturePublicKey);
        },
      },
    };
  }

  /** A new Ed25519 leaf signature key pair (raw bytes: ts-mls signs with raw keys). */
  async generateSignatureKeyPair(): Promise<{ publicKey: Uint8Array; privateKey: Uint8Array }> {
    const pair = await this.cs.signature.keygen();
    return { publicKey: pair.publicKey, privateKey: pair.signKey };
  }

  /** A KeyPackage whose credential is the device certificate `certificate` (encoded DeviceCert). */
  async createKeyPackage(options: { certificate: Uint8Array; signatureKeyPair: { publicKey: Uint8Array; privateKey: Uint8Array } }): Promise<LocalKeyPackage> {
    const now = BigInt(Math.floor(Date.now() / 1000));
    const capabilities = this.lib.defaultCapabilities();
    const { publicPackage, privatePackage } = await this.lib.generateKeyPackageWithKey(
      { credentialType: 'basic', identity: options.certificate },
      { ...capabilities, extensions: [...capabilities.extensions, ROSTER_EXTENSION] },
      { notBefore: now - 3600n, notAfter: now + KEY_PACKAGE_LIFETIME_SECONDS },
      [],
      { signKey: options.signatureKeyPair.privateKey, publicKey: options.signatureKeyPair.publicKey },
      this.cs,
    );
    return this.localKeyPackage(publicPackage, privatePackage);
  }

  encodeLocalKeyPackage(kp: LocalKeyPackage): Uint8Array {
    return new TlsWriter()
      .opaque(kp.encoded)
      .opaque(kp.privatePackage.initPrivateKey)
      .opaque(kp.privatePackage.hpkePrivateKey)
      .opaque(kp.privatePackage.signaturePrivateKey)
      .finish();
  }

  async decodeLocalKeyPackage(bytes: Uint8Array): Promise<LocalKeyPackage> {
    const r = new TlsReader(bytes, 'local key package');
    const publicPackage = this.decodeKeyPackage(r.opaque());
    const privatePackage = { initPrivateKey: r.opaque().slice(), hpkePrivateKey: r.opaque().slice(), signaturePrivateKey: r.opaque().slice() };
    r.end();
    return this.localKeyPackage(publicPackage, privatePackage);
  }

  /** Creates a chat's group with this device as its only leaf and `roster` as the users allowed in it. */
  async createGroup(options: { keyPackage: LocalKeyPackage; roster: readonly RosterEntry[]; groupId?: Uint8Array }): Promise<MlsGroup> {
    const groupId = options.groupId ?? globalThis.crypto.getRandomValues(new Uint8Array(32));
    const extensions: Extension[] = [
      {
        extensionType: 'required_capabilities',
        extensionData: this.lib.encodeRequiredCapabilities({ extensionTypes: [ROSTER_EXTENSION], proposalTypes: [], credentialTypes: ['basic'] }),
      },
      rosterExtension(options.roster),
    ];
    const state = await this.run(() =>
      this.lib.createGroup(groupId, options.keyPackage.publicPackage, options.keyPackage.privatePackage, extensions, this.cs, this.config),
    );
    enforcePolicy(undefined, state, undefined);
    return new MlsGroup(state);
  }

  /** Adds devices from their KeyPackages (as fetched: MLSMessage bytes); `roster` replaces the roster in the same commit. */
  async addDevices(group: MlsGroup, keyPackages: readonly Uint8Array[], options: { roster?: readonly RosterEntry[] } = {}): Promise<CommitBundle> {
    const decoded = keyPackages.map((bytes) => this.decodeKeyPackage(bytes));
    // One at a time before ts-mls sees them: it checks Adds concurrently and leaves a second refusal unhandled.
    for (const kp of decoded) {
      if (!(await this.config.authService.validateCredential(kp.leafNode.credential, kp.leafNode.signaturePublicKey))) {
        throw new E2eeError('mls_process_failed', 'Could not validate credential of a KeyPackage to add');
      }
    }
    const proposals: Proposal[] = decoded.map((keyPackage) => ({ proposalType: 'add', add: { keyPackage } }));
    if (options.roster) proposals.unshift(this.rosterProposal(group, options.roster));
    return this.commit(group, proposals);
  }

  /** Removes every leaf of the given devices; `roster` replaces the roster in the same commit. */
  async removeDevices(group: MlsGroup, devices: readonly DeviceRef[], options: { roster?: readonly RosterEntry[] } = {}): Promise<CommitBundle> {
    const leaves = group.members().filter((m) => devices.some((d) => d.userId === m.userId && d.deviceId === m.deviceId));
    if (leaves.length === 0 && !options.roster) throw new E2eeError('mls_unexpected_message', 'None of the devices to remove is in the group');
    const proposals: Proposal[] = leaves.map((m) => ({ proposalType: 'remove', remove: { removed: m.leafIndex } }));
    if (options.roster) proposals.unshift(this.rosterProposal(group, options.roster));
    return this.commit(group, proposals);
  }

  /** An empty commit with a fresh path: new leaf keys for this device (post-compromise security). */
  async selfUpdate(group: MlsGroup): Promise<CommitBundle> {
    return this.commit(group, []);
  }

  /** Joins from a Welcome addressed to one of this device's KeyPackages. */
  async joinFromWelcome(options: { welcome: Uint8Array; keyPackage: LocalKeyPackage }): Promise<MlsGroup> {
    const message = this.decodeMessage(options.welcome);
    if (message.wireformat !== 'mls_welcome') throw new E2eeError('mls_unexpected_message', 'Expected a Welcome');
    const kp = options.keyPackage;
    const state = await this.run(() =>
      this.lib.joinGroup(message.welcome, kp.publicPackage, kp.privatePackage, this.lib.emptyPskIndex, this.cs, undefined, undefined, this.config),
    );
    enforcePolicy(undefined, state, undefined);
    return new MlsGroup(state);
  }

  /**
   * Joins by external commit from a GroupInfo (with ratchet tree). `resync: true` replaces this device's old leaf
   * (same userId and deviceId), and is refused at once when there is none: ts-mls 1.6.4 would loop forever (D2).
   */
  async joinExternal(options: { groupInfo: Uint8Array; keyPackage: LocalKeyPackage; resync: boolean }): Promise<CommitBundle> {
    const message = this.decodeMessage(options.groupInfo);
    if (message.wireformat !== 'mls_group_info') throw new E2eeError('mls_unexpected_message', 'Expected a GroupInfo');
    const groupInfo: GroupInfo = message.groupInfo;
    const kp = options.keyPackage;
    if (options.resync) {
      // The same comparison ts-mls makes to find the leaf to replace, so the guard and the library cannot disagree.
      const equality = this.config.keyPackageEqualityConfig;
      const mine = this.treeOf(groupInfo).some(
        (n, i) => i % 2 === 0 && n?.nodeType === 'leaf' && equality.compareKeyPackageToLeafNode(kp.publicPackage, n.leaf),
      );
      if (!mine) throw new E2eeError('mls_resync_no_leaf', 'Resync needs a leaf of this device in the group, and there is none');
    }
    const result = await this.run(() =>
      this.lib.joinGroupExternal(groupInfo, kp.publicPackage, kp.privatePackage, options.resync, this.cs, undefined, this.config),
    );
    const before = { groupContext: groupInfo.groupContext, ratchetTree: this.treeOf(groupInfo) };
    enforcePolicy(before, result.newState, commitFacts(result.publicMessage));
    return this.bundle(result.newState, { version: 'mls10', wireformat: 'mls_public_message', publicMessage: result.publicMessage }, undefined);
  }

  /** Encrypts an application payload (padded to its size bucket) as a PrivateMessage with empty authenticated data. */
  async encrypt(group: MlsGroup, payload: Uint8Array): Promise<{ group: MlsGroup; message: Uint8Array }> {
    const result = await this.run(() => this.lib.createApplicationMessage(this.stateOf(group), padPayload(payload), this.cs));
    const message = this.lib.encodeMlsMessage({ version: 'mls10', wireformat: 'mls_private_message', privateMessage: result.privateMessage });
    return { group: new MlsGroup(result.newState), message };
  }

  /**
   * Processes one message from the chat log: an application message (PrivateMessage, empty authenticated data) or a
   * commit (PublicMessage). A commit's new state passes the policy check or this throws `mls_policy_violation`; the
   * caller keeps the returned group only after that, and otherwise keeps the old one.
   */
  async process(group: MlsGroup, bytes: Uint8Array): Promise<ProcessResult> {
    const message = this.decodeMessage(bytes);
    if (message.wireformat === 'mls_private_message') return this.processApplication(group, message.privateMessage);
    if (message.wireformat !== 'mls_public_message') throw new E2eeError('mls_unexpected_message', `Unexpected ${message.wireformat} in a chat log`);
    const facts = commitFacts(message.publicMessage);
    const result = await this.run(() =>
      this.lib.processPublicMessage(this.stateOf(group), message.publicMessage, this.lib.makePskIndex(group.state, {}), this.cs),
    );
    const { added, removed } = enforcePolicy(group.state, result.newState, facts);
    return { kind: 'commit', group: new MlsGroup(result.newState), added, removed, external: facts.external };
  }

  /** A state as bytes for storage (tagged with the library line, so a later major version knows to resync). */
  encodeState(group: MlsGroup): Uint8Array {
    return new TlsWriter().u8(STATE_FORMAT_TS_MLS_1).raw(this.lib.encodeGroupState(group.state)).finish();
  }

  /** The one way to load a stored state: the library does not store its config, so Parley's is attached here (D5). */
  restoreState(bytes: Uint8Array): MlsGroup {
    if (bytes[0] !== STATE_FORMAT_TS_MLS_1) throw new E2eeError('e2ee_malformed', `Unknown group state format ${bytes[0]}`);
    const decoded = this.lib.decodeGroupState(bytes.subarray(1), 0);
    if (decoded === undefined || decoded[1] !== bytes.length - 1) throw new E2eeError('e2ee_malformed', 'Could not decode the group state');
    return new MlsGroup({ ...decoded[0], clientConfig: this.config });
  }

  // Whatever config a state came with, every operation runs under this instance's (D5).
  private stateOf(group: MlsGroup): ClientState {
    return group.state.clientConfig === this.config ? group.state : { ...group.state, clientConfig: this.config };
  }

  private async commit(group: MlsGroup, proposals: Proposal[]): Promise<CommitBundle> {
    const result = await this.run(() =>
      this.lib.createCommit(
        { state: this.stateOf(group), cipherSuite: this.cs },
        { wireAsPublicMessage: true, extraProposals: proposals, ratchetTreeExtension: true },
      ),
    );
    if (result.commit.wireformat !== 'mls_public_message') throw new E2eeError('mls_unexpected_message', 'A commit must be a PublicMessage');
    enforcePolicy(group.state, result.newState, commitFacts(result.commit.publicMessage));
    return this.bundle(result.newState, result.commit, result.welcome);
  }

  private async bundle(state: ClientState, commit: MLSMessage, welcome: Welcome | undefined): Promise<CommitBundle> {
    const groupInfo = await this.lib.createGroupInfoWithExternalPubAndRatchetTree(state, [], this.cs);
    return {
      group: new MlsGroup(state),
      commit: this.lib.encodeMlsMessage(commit),
      welcome: welcome ? this.lib.encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome }) : undefined,
      groupInfo: this.lib.encodeMlsMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo }),
    };
  }

  private async processApplication(group: MlsGroup, pm: PrivateMessage): Promise<ProcessResult> {
    if (pm.contentType !== 'application') throw new E2eeError('mls_unexpected_message', 'Handshake messages must be PublicMessages');
    if (pm.authenticatedData.length !== 0) throw new E2eeError('mls_unexpected_message', 'Application messages carry no authenticated data');
    const state = this.stateOf(group);
    const receiver =
      pm.epoch === state.groupContext.epoch
        ? { senderDataSecret: state.keySchedule.senderDataSecret, ratchetTree: state.ratchetTree }
        : state.historicalReceiverData.get(pm.epoch);
    if (receiver === undefined) throw new E2eeError('mls_process_failed', `No keys for epoch ${pm.epoch} (now ${state.groupContext.epoch})`);
    const result = await this.run(() => this.lib.processPrivateMessage(state, pm, this.lib.makePskIndex(state, {}), this.cs));
    if (result.kind !== 'applicationMessage') throw new E2eeError('mls_unexpected_message', 'Expected an application message');
    // ts-mls does not report the sender; its sender data names the leaf whose key just verified the message.
    const senderData = await this.run(() => this.lib.decryptSenderData(pm, receiver.senderDataSecret, this.cs));
    const sender = membersOf(receiver.ratchetTree).find((m) => m.leafIndex === senderData?.leafIndex);
    if (sender === undefined) throw new E2eeError('mls_process_failed', 'The sender of the message is not a member');
    return { kind: 'application', group: new MlsGroup(result.newState), plaintext: unpadPayload(result.message), sender };
  }

  private rosterProposal(group: MlsGroup, roster: readonly RosterEntry[]): Proposal {
    const others = group.state.groupContext.extensions.filter((e) => e.extensionType !== ROSTER_EXTENSION);
    return { proposalType: 'group_context_extensions', groupContextExtensions: { extensions: [...others, rosterExtension(roster)] } };
  }

  private treeOf(groupInfo: GroupInfo): RatchetTree {
    const ext = groupInfo.extensions.find((e) => e.extensionType === 'ratchet_tree');
    const decoded = ext && this.lib.decodeRatchetTree(ext.extensionData, 0);
    if (!decoded) throw new E2eeError('mls_unexpected_message', 'The GroupInfo carries no ratchet tree');
    return decoded[0];
  }

  private decodeMessage(bytes: Uint8Array): MLSMessage {
    const decoded = safely(() => this.lib.decodeMlsMessage(bytes, 0));
    if (decoded === undefined || decoded[1] !== bytes.length) throw new E2eeError('e2ee_malformed', 'Could not decode the MLS message');
    return decoded[0];
  }

  private decodeKeyPackage(bytes: Uint8Array): KeyPackage {
    const message = this.decodeMessage(bytes);
    if (message.wireformat !== 'mls_key_package') throw new E2eeError('mls_unexpected_message', 'Expected a KeyPackage');
    if (message.keyPackage.cipherSuite !== PARLEY_CIPHERSUITE)
      throw new E2eeError('mls_unexpected_message', `KeyPackage of suite ${message.keyPackage.cipherSuite}`);
    return message.keyPackage;
  }

  private async localKeyPackage(publicPackage: KeyPackage, privatePackage: PrivateKeyPackage): Promise<LocalKeyPackage> {
    return {
      publicPackage,
      privatePackage,
      encoded: this.lib.encodeMlsMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: publicPackage }),
      ref: await this.lib.makeKeyPackageRef(publicPackage, this.cs.hash),
    };
  }

  private async run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      if (err instanceof E2eeError) throw err;
      throw new E2eeError('mls_process_failed', err instanceof Error ? err.message : String(err), { cause: err });
    }
  }

  /** The suite's HPKE on raw keys, for what is sealed to one device outside any group (device linking, link.ts). */
  hpke(): SuiteHpke {
    const hpke = this.cs.hpke;
    return {
      async generateKeyPair() {
        const pair = await hpke.generateKeyPair();
        return { publicKey: await hpke.exportPublicKey(pair.publicKey), privateKey: await hpke.exportPrivateKey(pair.privateKey) };
      },
      async seal(publicKey, plaintext, options) {
        return hpke.seal(await hpke.importPublicKey(publicKey), plaintext, options.info, options.aad);
      },
      async open(privateKey, sealed, options) {
        return hpke.open(await hpke.importPrivateKey(privateKey), sealed.enc, sealed.ct, options.info, options.aad);
      },
    };
  }
}

/** RFC 9180 base mode with the MLS suite's KEM, KDF and AEAD (DHKEM(X25519, HKDF-SHA256), AES-128-GCM); raw keys. */
export interface SuiteHpke {
  generateKeyPair(): Promise<{ publicKey: Uint8Array; privateKey: Uint8Array }>;
  seal(publicKey: Uint8Array, plaintext: Uint8Array, options: { info: Uint8Array; aad: Uint8Array }): Promise<{ enc: Uint8Array; ct: Uint8Array }>;
  open(privateKey: Uint8Array, sealed: { enc: Uint8Array; ct: Uint8Array }, options: { info: Uint8Array; aad: Uint8Array }): Promise<Uint8Array>;
}

/** D3: two KeyPackages or a KeyPackage and a leaf are "the same device" when their certificates name the same one. */
const identityEquality: KeyPackageEqualityConfig = {
  compareKeyPackages(a, b) {
    return sameDevice(identityOf(a.leafNode), identityOf(b.leafNode));
  },
  compareKeyPackageToLeafNode(a, b) {
    return sameDevice(identityOf(a.leafNode), identityOf(b));
  },
};

function sameDevice(a: DeviceRef | undefined, b: DeviceRef | undefined): boolean {
  return a !== undefined && b !== undefined && a.userId === b.userId && a.deviceId === b.deviceId;
}

function identityOf(leaf: LeafNode): (DeviceRef & { aikId: Uint8Array }) | undefined {
  if (leaf.credential.credentialType !== 'basic') return undefined;
  const identity = leaf.credential.identity;
  return safely(() => decodeDeviceCert(identity));
}

function membersOf(tree: RatchetTree): MlsMember[] {
  const members: MlsMember[] = [];
  for (let node = 0; node < tree.length; node += 2) {
    const n = tree[node];
    if (n === undefined || n.nodeType !== 'leaf') continue;
    const id = identityOf(n.leaf);
    if (id === undefined) throw new E2eeError('mls_policy_violation', `Leaf ${node / 2} has no device certificate`);
    members.push({ leafIndex: node / 2, userId: id.userId, deviceId: id.deviceId, aikId: id.aikId, signatureKey: n.leaf.signaturePublicKey });
  }
  return members;
}

function rosterExtension(roster: readonly RosterEntry[]): Extension {
  return { extensionType: ROSTER_EXTENSION, extensionData: new TlsWriter().vector(roster, (w, e) => w.string(e.userId).opaque(e.aikId)).finish() };
}

function rosterOf(extensions: readonly Extension[]): RosterEntry[] {
  const ext = extensions.find((e) => e.extensionType === ROSTER_EXTENSION);
  if (ext === undefined) throw new E2eeError('mls_policy_violation', 'The group has no roster');
  const r = new TlsReader(ext.extensionData, 'roster');
  const roster = r.vector((e) => ({ userId: e.string(), aikId: e.opaque().slice() }));
  r.end();
  return roster;
}

interface CommitFacts {
  external: boolean;
  removed: number[];
  joiner?: DeviceRef;
}

function commitFacts(pm: PublicMessage): CommitFacts {
  const content = pm.content;
  if (content.contentType !== 'commit') throw new E2eeError('mls_unexpected_message', 'Only commits travel as PublicMessages');
  const removed: number[] = [];
  for (const p of content.commit.proposals) {
    // Parley never sends standalone proposals: a commit naming one by reference hides what it changes.
    if (p.proposalOrRefType !== 'proposal') throw new E2eeError('mls_policy_violation', 'Commits must carry their proposals inline');
    if (p.proposal.proposalType === 'remove') removed.push(p.proposal.remove.removed);
  }
  const external = content.sender.senderType === 'new_member_commit';
  const joinerLeaf = content.commit.path?.leafNode;
  return { external, removed, joiner: external && joinerLeaf ? identityOf(joinerLeaf) : undefined };
}

function key(d: DeviceRef): string {
  return `${d.userId}\u0000${d.deviceId}`;
}

/**
 * The post-process policy (E2EE design §4.4, checks 5–7), run on a new state before it may be kept. `before` is the
 * state the commit applied to (undefined when the state comes from creating or joining a group: then every leaf counts
 * as added). Throws `mls_policy_violation`.
 */
export function enforcePolicy(
  before: Pick<ClientState, 'groupContext' | 'ratchetTree'> | undefined,
  after: ClientState,
  commit: CommitFacts | undefined,
): { added: MlsMember[]; removed: MlsMember[] } {
  const violation = (why: string): never => {
    throw new E2eeError('mls_policy_violation', why);
  };
  const roster = rosterOf(after.groupContext.extensions);
  const oldLeaves = new Map((before ? membersOf(before.ratchetTree) : []).map((m) => [m.leafIndex, m]));
  const newLeaves = membersOf(after.ratchetTree);
  const removedIndices = new Set(commit?.removed ?? []);

  const seen = new Set<string>();
  for (const m of newLeaves) {
    if (seen.has(key(m))) violation(`Two leaves of device "${m.deviceId}" of user "${m.userId}"`);
    seen.add(key(m));
  }

  const added: MlsMember[] = [];
  for (const m of newLeaves) {
    const old = oldLeaves.get(m.leafIndex);
    if (old && !removedIndices.has(m.leafIndex)) {
      // D6: an Update or a commit path may refresh keys, never move a leaf to another device or identity key.
      if (!sameDevice(old, m) || !bytesEqual(old.aikId, m.aikId)) violation(`Leaf ${m.leafIndex} changed from device "${old.deviceId}" to "${m.deviceId}"`);
      continue;
    }
    const entry = roster.find((r) => r.userId === m.userId);
    if (entry === undefined) violation(`User "${m.userId}" is not in the group's roster`);
    else if (!bytesEqual(entry.aikId, m.aikId)) violation(`Device "${m.deviceId}" is certified by another key than the roster names for "${m.userId}"`);
    added.push(m);
  }
  const removed = [...removedIndices].map((i) => oldLeaves.get(i)).filter((m): m is MlsMember => m !== undefined);

  if (commit?.external) {
    // D4: RFC 9420 lets the application decide; Parley lets a joiner remove only its own previous leaf.
    if (commit.joiner === undefined) violation('External commit without a certified leaf');
    if (removed.length > 1) violation('An external commit removed more than one leaf');
    for (const m of removed) if (!sameDevice(m, commit.joiner)) violation(`An external commit by "${commit.joiner?.deviceId}" removed device "${m.deviceId}"`);
    if (before && !extensionBytesEqual(before.groupContext.extensions, after.groupContext.extensions))
      violation('An external commit changed the group context');
  }
  return { added, removed };
}

function extensionBytesEqual(a: readonly Extension[], b: readonly Extension[]): boolean {
  return a.length === b.length && a.every((e, i) => e.extensionType === b[i].extensionType && bytesEqual(e.extensionData, b[i].extensionData));
}

function safely<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
