import { FramingError, MLS10, Reader } from '../devices/framing.ts';

// What the delivery service reads of a commit bundle without an MLS library (RFC 9420 §6, §12.4.3):
// the commit's outer framing, the whole GroupInfo and the Welcome's outer structure. It checks that
// they are what they claim to be and belong to this group at this epoch; signatures, the tree and
// the secrets are the clients' to verify.

const WIRE_FORMAT_PUBLIC_MESSAGE = 1;
const WIRE_FORMAT_PRIVATE_MESSAGE = 2;
const WIRE_FORMAT_WELCOME = 3;
const WIRE_FORMAT_GROUP_INFO = 4;
const CONTENT_TYPE_APPLICATION = 1;
const CONTENT_TYPE_COMMIT = 3;
const SENDER_MEMBER = 1;
const SENDER_NEW_MEMBER_COMMIT = 4;

export { FramingError };

export interface CommitFrame {
  groupId: Uint8Array;
  epoch: bigint;
  /** member: a device already in the group; new_member_commit: an external join */
  sender: 'member' | 'new_member_commit';
  /** the committer's leaf, for a member */
  leafIndex?: number;
}

function header(r: Reader, wireFormat: number, name: string): void {
  if (r.u16('version') !== MLS10) throw new FramingError(`The ${name} is not an MLS 1.0 message`);
  const wf = r.u16('wire format');
  if (wf !== wireFormat) throw new FramingError(`The ${name} has wire format ${wf}, not ${wireFormat}`);
}

function u32(r: Reader, what: string): number {
  const b = r.take(4, what);
  return b[0]! * 2 ** 24 + ((b[1]! << 16) | (b[2]! << 8) | b[3]!);
}

/**
 * Reads the framing of an MLSMessage that should hold a commit: version mls10, wire format
 * mls_public_message, a FramedContent whose sender is a member or a new member committing, and
 * whose content type is commit. The body after the content type is not parsed, but must not be empty.
 */
export function readCommit(bytes: Uint8Array): CommitFrame {
  const r = new Reader(bytes);
  header(r, WIRE_FORMAT_PUBLIC_MESSAGE, 'commit');
  const groupId = r.opaque('group id');
  const epoch = r.u64('epoch');
  const senderType = r.u8('sender type');
  let leafIndex: number | undefined;
  if (senderType === SENDER_MEMBER) leafIndex = u32(r, 'leaf index');
  else if (senderType !== SENDER_NEW_MEMBER_COMMIT) throw new FramingError(`Sender type ${senderType} is neither member (1) nor new_member_commit (4)`);
  r.opaque('authenticated data');
  const contentType = r.u8('content type');
  if (contentType !== CONTENT_TYPE_COMMIT) throw new FramingError(`Content type ${contentType} is not commit (3)`);
  if (r.done) throw new FramingError('The commit has no body');
  return { groupId, epoch, sender: senderType === SENDER_MEMBER ? 'member' : 'new_member_commit', ...(leafIndex === undefined ? {} : { leafIndex }) };
}

export interface GroupInfoFrame {
  cipherSuite: number;
  groupId: Uint8Array;
  epoch: bigint;
}

/** Reads a whole MLSMessage holding a GroupInfo (wire format mls_group_info), nothing after it. */
export function readGroupInfo(bytes: Uint8Array): GroupInfoFrame {
  const r = new Reader(bytes);
  header(r, WIRE_FORMAT_GROUP_INFO, 'GroupInfo');
  // GroupContext
  if (r.u16('group context version') !== MLS10) throw new FramingError('The group context is not mls10');
  const cipherSuite = r.u16('cipher suite');
  const groupId = r.opaque('group id');
  const epoch = r.u64('epoch');
  r.opaque('tree hash');
  r.opaque('confirmed transcript hash');
  r.vector('group context extensions', (x) => {
    x.u16('extension type');
    x.opaque('extension data');
  });
  // GroupInfo
  r.vector('GroupInfo extensions', (x) => {
    x.u16('extension type');
    x.opaque('extension data');
  });
  r.opaque('confirmation tag');
  u32(r, 'signer');
  r.opaque('GroupInfo signature');
  if (!r.done) throw new FramingError('Bytes follow the GroupInfo');
  return { cipherSuite, groupId, epoch };
}

/** Reads a whole MLSMessage holding a Welcome (wire format mls_welcome); returns its cipher suite. */
export function readWelcome(bytes: Uint8Array): { cipherSuite: number; secrets: number } {
  const r = new Reader(bytes);
  header(r, WIRE_FORMAT_WELCOME, 'Welcome');
  const cipherSuite = r.u16('cipher suite');
  let secrets = 0;
  r.vector('group secrets', (x) => {
    x.opaque('new member');
    // HPKECiphertext
    x.opaque('kem output');
    x.opaque('ciphertext');
    secrets++;
  });
  r.opaque('encrypted group info');
  if (!r.done) throw new FramingError('Bytes follow the Welcome');
  if (secrets === 0) throw new FramingError('The Welcome welcomes nobody');
  return { cipherSuite, secrets };
}

/**
 * Reads a whole MLSMessage holding an application message: wire format mls_private_message, content
 * type application, no authenticated data (Parley's clients send none), nothing after it. The sender
 * and the content are encrypted: only the group id and the epoch are the server's to read.
 */
export function readApplicationMessage(bytes: Uint8Array): { groupId: Uint8Array; epoch: bigint } {
  const r = new Reader(bytes);
  header(r, WIRE_FORMAT_PRIVATE_MESSAGE, 'application message');
  const groupId = r.opaque('group id');
  const epoch = r.u64('epoch');
  const contentType = r.u8('content type');
  if (contentType !== CONTENT_TYPE_APPLICATION) throw new FramingError(`Content type ${contentType} is not application (1)`);
  if (r.opaque('authenticated data').length !== 0) throw new FramingError('An application message carries no authenticated data');
  if (r.opaque('encrypted sender data').length === 0) throw new FramingError('The application message has no sender data');
  if (r.opaque('ciphertext').length === 0) throw new FramingError('The application message has no ciphertext');
  if (!r.done) throw new FramingError('Bytes follow the application message');
  return { groupId, epoch };
}
