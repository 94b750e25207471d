// Times are milliseconds since the epoch; booleans are 0/1 integers (portable across both dialects).
export interface UsersTable {
  id: string;
  username: string | null;
  display_name: string;
  password_hash: string | null;
  is_admin: number;
  created_at: number;
  disabled_at: number | null;
  deleted_at: number | null;
  event_seq: number;
  last_seen_at?: number | null;
  /** Who may add this user to groups and channels without asking */
  add_policy: AddPolicy;
  /** The profile picture: a file whose reference this column holds (ref_count counts it) */
  avatar_file_id: string | null;
}

export type AddPolicy = 'everyone' | 'contacts' | 'nobody';

export interface ChatInvitationsTable {
  chat_id: string;
  user_id: string;
  invited_by: string;
  created_at: number;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  device_name: string;
  created_at: number;
  last_seen_at: number;
  ip: string;
  user_agent: string;
  access_hash: string;
  access_expires_at: number;
  refresh_hash: string;
  refresh_expires_at: number;
  prev_refresh_hash: string | null;
}

export interface InvitesTable {
  id: string;
  code_hash: string;
  code_hint: string;
  created_by: string | null;
  admin: number;
  max_uses: number;
  uses: number;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

/** Who registered with which invite (from 016 on; registrations before it left no trace) */
export interface InviteUsesTable {
  invite_id: string;
  user_id: string;
  used_at: number;
}

export interface ChatsTable {
  id: string;
  kind: 'self' | 'private' | 'group' | 'channel';
  title: string | null;
  owner_id: string | null;
  /** for private chats: the two user ids sorted and joined, unique; for self chats: the user id */
  pair_key: string | null;
  last_seq: number;
  member_count: number;
  created_at: number;
  deleted_at: number | null;
  /** The group's or channel's picture, as for users */
  avatar_file_id: string | null;
  /** 1: end-to-end encrypted (one-way). Optional here: a new chat takes the default 0 */
  e2ee?: number;
  /** the chat's MLS group's current epoch; null until its first commit (`init`) */
  mls_epoch?: number | null;
}

export interface MembersTable {
  chat_id: string;
  user_id: string;
  role: 'owner' | 'admin' | 'member' | 'subscriber';
  joined_at: number;
  joined_seq: number;
  read_seq: number;
  hidden_seq: number | null;
  muted: number;
}

export interface MessagesTable {
  id: string;
  chat_id: string;
  seq: number;
  sender_id: string;
  client_message_id: string;
  /** text: plaintext; mls: an MLS application message of an end-to-end encrypted chat (text is '') */
  kind: 'text' | 'mls';
  text: string | null;
  reply_to_id: string | null;
  created_at: number;
  edited_at: number | null;
  deleted_at: number | null;
  /** The attachments as the wire shows them (JSON array), null when none or once deleted */
  attachments?: string | null;
  /** The reactions as the wire shows them (JSON array, from the reactions rows), null when none */
  reactions?: string | null;
  /** kind mls: the PrivateMessage (MLSMessage bytes); null once deleted */
  ciphertext?: Buffer | null;
  /** kind mls: the epoch it was encrypted at */
  mls_epoch?: number | null;
  /** kind mls: the message this one replaces (an edit), null for a new message */
  edit_of?: string | null;
  /** When it was pinned in its chat, null when not pinned */
  pinned_at?: number | null;
  /** Who pinned it, null when not pinned */
  pinned_by?: string | null;
  /** Where a forwarded message first came from, as the wire shows it (JSON), null when not forwarded */
  forwarded?: string | null;
  /** The members it @mentions (JSON array of user ids), null when none */
  mentions?: string | null;
}

export interface ReactionsTable {
  message_id: string;
  chat_id: string;
  user_id: string;
  emoji: string;
  created_at: number;
}

export type FileState = 'uploading' | 'ready' | 'deleting';

/** An upload and the file it becomes; the id is the tus upload id and the blob store's key. */
export interface FilesTable {
  id: string;
  owner_id: string;
  /** the declared Upload-Length */
  size: number;
  name: string | null;
  mime_type: string | null;
  state: FileState;
  /** messages referencing it (rows of file_refs), changed only together with them */
  ref_count: number;
  created_at: number;
  /** for an unfinished upload: when the cleanup job deletes it */
  expires_at: number | null;
  /** for a finished file with no reference: since when (the GC grace counts from here) */
  unreferenced_since: number | null;
  /** hex sha256 of the stored bytes, set when the upload finishes */
  sha256: string | null;
}

export interface FileRefsTable {
  file_id: string;
  message_id: string;
  chat_id: string;
}

export interface ChatEventsTable {
  chat_id: string;
  seq: number;
  type: string;
  message_id: string | null;
  actor_id: string | null;
  data: string | null;
  created_at: number;
}

export interface UserEventsTable {
  user_id: string;
  seq: number;
  type: string;
  chat_id: string | null;
  data: string | null;
  created_at: number;
}

/** A user's account identity key (AIK) for end-to-end encryption, and its escrow encrypted with the recovery key. */
export interface IdentitiesTable {
  user_id: string;
  public_key: Buffer;
  /** 1 for the first key; a reset would count up */
  version: number;
  recovery_blob: Buffer | null;
  created_at: number;
  updated_at: number;
}

export type DeviceStatus = 'pending' | 'active' | 'ended';

/** An E2EE device: the session that registered it (same id), its MLS signature key and certificate. */
export interface DevicesTable {
  id: string;
  user_id: string;
  name: string;
  status: DeviceStatus;
  signature_key: Buffer;
  link_commitment: Buffer | null;
  /** the AIK-signed device certificate, the identity of the device's MLS credential */
  cert: Buffer | null;
  created_at: number;
  approved_at: number | null;
  ended_at: number | null;
}

/** Every version of a user's signed device list, opaque to the server. */
export interface DeviceListsTable {
  user_id: string;
  version: number;
  data: Buffer;
  created_at: number;
}

/** The device-link mailbox: one opaque message per sender and recipient device of one user, read once. */
export interface DeviceLinksTable {
  recipient_device_id: string;
  sender_device_id: string;
  user_id: string;
  data: Buffer;
  created_at: number;
  expires_at: number;
}

export interface KeyPackagesTable {
  /** the KeyPackageRef (RFC 9420 §5.2) */
  ref: Buffer;
  device_id: string;
  user_id: string;
  cipher_suite: number;
  /** the MLSMessage (wire format mls_key_package) as uploaded */
  data: Buffer;
  /** 1: served to every claim and kept; 0: single use */
  last_resort: number;
  expires_at: number;
  created_at: number;
}

export type CallState = 'ringing' | 'active' | 'ended';

/** A 1:1 call in a private chat; callee_session is set when a device of the callee answers. */
export interface CallsTable {
  id: string;
  chat_id: string;
  state: CallState;
  caller_user: string;
  caller_session: string;
  callee_user: string;
  callee_session: string | null;
  created_at: number;
  ring_expires_at: number;
  answered_at: number | null;
  ended_at: number | null;
  end_reason: 'declined' | 'busy' | 'missed' | 'hangup' | 'failed' | 'gone' | null;
  /** when the caller's / answering callee's device last bound itself to the call: a device that left before it is gone */
  caller_bound_at: number | null;
  callee_bound_at: number | null;
}

/** The MLS group of an end-to-end encrypted chat, with the newest GroupInfo for external joins. */
export interface MlsGroupsTable {
  chat_id: string;
  group_id: Buffer;
  cipher_suite: number;
  /** the MLSMessage (wire format mls_group_info) of the newest commit */
  group_info: Buffer;
  group_info_epoch: number;
  group_info_seq: number;
  created_at: number;
}

/** One accepted commit: the epoch it created, its position, and the idempotency key of its sender. */
export interface MlsCommitsTable {
  group_id: Buffer;
  /** the epoch the commit created */
  epoch: number;
  chat_id: string;
  seq: number;
  device_id: string;
  client_commit_id: string;
}

/** The devices in a chat's group, as the commits declared them. */
export interface MlsGroupDevicesTable {
  chat_id: string;
  device_id: string;
  user_id: string;
  joined_seq: number;
  joined_epoch: number;
}

/** A session's web push subscription (012); goes with its session. */
export interface PushSubscriptionsTable {
  id: string;
  session_id: string;
  user_id: string;
  endpoint: string;
  p256dh: string;
  auth: string;
  created_at: number;
}

/** The server's VAPID key pair, base64url (012): one row, id 'vapid'. */
export interface PushKeysTable {
  id: string;
  public_key: string;
  private_key: string;
  created_at: number;
}

export interface DB {
  users: UsersTable;
  chat_invitations: ChatInvitationsTable;
  sessions: SessionsTable;
  invites: InvitesTable;
  invite_uses: InviteUsesTable;
  chats: ChatsTable;
  members: MembersTable;
  messages: MessagesTable;
  reactions: ReactionsTable;
  chat_events: ChatEventsTable;
  user_events: UserEventsTable;
  files: FilesTable;
  file_refs: FileRefsTable;
  identities: IdentitiesTable;
  devices: DevicesTable;
  device_lists: DeviceListsTable;
  key_packages: KeyPackagesTable;
  device_links: DeviceLinksTable;
  calls: CallsTable;
  mls_groups: MlsGroupsTable;
  mls_commits: MlsCommitsTable;
  mls_group_devices: MlsGroupDevicesTable;
  push_subscriptions: PushSubscriptionsTable;
  push_keys: PushKeysTable;
}
