import type { Chat, Member, Message, Role, User } from '@parley/protocol';
import { iso } from '../../lib/time.ts';
import { DELETED_NAME, toUser } from '../accounts/views.ts';
import type { ChatListRow, MemberListRow } from './chats.store.ts';

export const SAVED_MESSAGES = 'Saved messages';

const DELETED_PEER: User = { id: 'deleted', username: null, displayName: DELETED_NAME, deleted: true, avatarFileId: null };

export interface ChatViewParts {
  lastMessage: Message | null;
  unreadCount: number;
  /** unread messages that @mention me */
  unreadMentions?: number;
  /** the other member, for a private chat */
  peer?: User;
}

export function toChat(row: ChatListRow, parts: ChatViewParts): Chat {
  const { lastMessage, unreadCount, unreadMentions, peer } = parts;
  return {
    id: row.id,
    kind: row.kind,
    title: row.kind === 'self' ? SAVED_MESSAGES : row.kind === 'private' ? (peer?.displayName ?? DELETED_NAME) : (row.title ?? ''),
    ...(row.kind === 'private' ? { peer: peer ?? DELETED_PEER } : {}),
    ownerId: row.owner_id,
    role: row.role as Role,
    memberCount: row.member_count,
    lastSeq: Number(row.last_seq),
    lastMessage,
    readSeq: Number(row.read_seq),
    unreadCount,
    ...(unreadMentions ? { unreadMentions } : {}),
    muted: row.muted === 1,
    avatarFileId: row.kind === 'group' || row.kind === 'channel' ? row.avatar_file_id : null,
    encryption: Number(row.e2ee ?? 0) === 1 ? 'e2ee' : 'none',
    createdAt: iso(row.created_at),
  };
}

export function toMember(row: MemberListRow): Member {
  return { user: toUser(row), role: row.role as Role, joinedAt: iso(row.joined_at), readSeq: Number(row.read_seq) };
}
