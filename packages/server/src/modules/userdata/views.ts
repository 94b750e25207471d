import type { Attachment, Chat, Me, Member, Session } from '@parley/protocol';
import type { FilesTable } from '../../adapters/db/schema.ts';
import { iso } from '../../lib/time.ts';
import type { OwnMessageRow } from './userdata.store.ts';

// The shapes of the files in a data export (docs/operations.md, "Data export"). The export names
// other people only as the chats show them: display name, username and role.

export interface ExportedProfile {
  exportedAt: string;
  profile: Omit<Me, 'avatarFileId' | 'addPolicy'> & { picture: string | null };
  settings: { addPolicy: Me['addPolicy'] };
  /** Signed-in devices, without their tokens */
  sessions: Omit<Session, 'current'>[];
}

export interface ExportedChat {
  id: string;
  kind: Chat['kind'];
  title: string;
  role: Chat['role'];
  muted: boolean;
  createdAt: string;
  memberCount: number;
  /** Who the chat shows: everyone; in a channel its owner and admins */
  members: { displayName: string; username: string | null; role: Member['role'] }[];
  /** My messages in it (not deleted), and the files that hold them; null when I wrote none */
  messageCount: number;
  messages: { json: string; text: string } | null;
}

export interface ExportedMessage {
  id: string;
  seq: number;
  createdAt: string;
  editedAt: string | null;
  text: string | null;
  /** The message this one answers (in the same chat), by id and position */
  replyTo: { id: string; seq: number | null } | null;
  attachments: { name: string; mimeType: string; size: number; file: string | null }[];
}

/** A name safe in any file system: letters, digits and a few signs kept, the rest "_", at most 80 characters. */
export function safeName(name: string | null): string {
  const cleaned = (name ?? '')
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}._ -]/gu, '_')
    .replace(/^[.\s]+/, '')
    .trim();
  return [...cleaned].slice(0, 80).join('') || 'file';
}

/** Where a file goes in the zip: under files/, its id first (unique), then its name. */
export function filePath(file: Pick<FilesTable, 'id' | 'name'>): string {
  return `files/${file.id}-${safeName(file.name)}`;
}

export function toExportedProfile(me: Me, options: { sessions: Session[]; picture: string | null; now: number }): ExportedProfile {
  const { avatarFileId: _avatar, addPolicy, ...profile } = me;
  return {
    exportedAt: iso(options.now),
    profile: { ...profile, picture: options.picture },
    settings: { addPolicy },
    sessions: options.sessions.map(({ current: _current, ...s }) => s),
  };
}

export function toExportedChat(chat: Chat, options: { members: Member[]; messageCount: number }): ExportedChat {
  const base = `messages/${chat.id}`;
  return {
    id: chat.id,
    kind: chat.kind,
    title: chat.title,
    role: chat.role,
    muted: chat.muted,
    createdAt: chat.createdAt,
    memberCount: chat.memberCount,
    members: options.members.map((m) => ({ displayName: m.user.displayName, username: m.user.username, role: m.role })),
    messageCount: options.messageCount,
    messages: options.messageCount > 0 ? { json: `${base}.json`, text: `${base}.txt` } : null,
  };
}

export function toExportedMessage(row: OwnMessageRow, files: ReadonlyMap<string, string>): ExportedMessage {
  const attachments = row.attachments ? (JSON.parse(row.attachments) as Attachment[]) : [];
  return {
    id: row.id,
    seq: Number(row.seq),
    createdAt: iso(Number(row.created_at)),
    editedAt: row.edited_at === null ? null : iso(Number(row.edited_at)),
    text: row.text,
    replyTo: row.reply_to_id ? { id: row.reply_to_id, seq: row.reply_seq === null ? null : Number(row.reply_seq) } : null,
    attachments: attachments.map((a) => ({ name: a.name, mimeType: a.mimeType, size: a.size, file: files.get(a.fileId) ?? null })),
  };
}

/** "2026-03-01 14:05:09 UTC" */
function readableTime(isoTime: string): string {
  return `${isoTime.slice(0, 19).replace('T', ' ')} UTC`;
}

/** One message in the readable .txt beside the JSON. */
export function messageAsText(m: ExportedMessage): string {
  const notes = [`#${m.seq}`, ...(m.editedAt ? [`edited ${readableTime(m.editedAt)}`] : []), ...(m.replyTo ? [`reply to #${m.replyTo.seq ?? '?'}`] : [])];
  const lines = [`[${readableTime(m.createdAt)}] (${notes.join(', ')})`];
  if (m.text) lines.push(m.text);
  for (const a of m.attachments) lines.push(`Attachment: ${a.name}${a.file ? ` (${a.file})` : ''}`);
  return `${lines.join('\n')}\n\n`;
}

export function chatHeading(chat: ExportedChat, owner: { displayName: string; username: string }): string {
  return `${chat.title} (${chat.kind}): the messages ${owner.displayName} (@${owner.username}) wrote\n\n`;
}

/** README.txt: what the zip holds. */
export function readme(options: { username: string; exportedAt: string; chats: number; messages: number; files: number }): string {
  return `Parley data export of @${options.username}, made ${readableTime(options.exportedAt)}

What is inside:

  profile.json         the profile (name, username, when it was made), settings (who may add
                       the account to groups and channels) and the signed-in devices (no tokens)
  chats.json           the ${options.chats} chat(s) the account is in: kind, title, role, and the
                       members' names as the chat shows them
  messages/<chat>.json the ${options.messages} message(s) the account wrote (deleted ones are not kept),
  messages/<chat>.txt  per chat, with their times, edits and replies; the same as readable text
  files/<id>-<name>    the ${options.files} file(s) the account uploaded that are still in use (sent in
                       a message that was not deleted, or its picture)

Other people's messages are not in the export: a reply names the message it answers by its
position (#seq) only. Nor are end-to-end encrypted messages: only the devices in the chat can read
them (the messages written in such a chat before it was encrypted are here). All times are UTC.
`;
}
