import { Type, type Static } from 'typebox';
import { endpoint } from '../endpoint.ts';
import { Id, Role, Strict, Timestamp } from '../common.ts';
import { User } from './account.ts';
import { AvatarFileId, FileId } from './files.ts';
import { Message } from './messages.ts';

export const ChatKind = Type.Union([Type.Literal('self'), Type.Literal('private'), Type.Literal('group'), Type.Literal('channel')], {
  description: 'self: saved messages; private: two people; group: up to the member limit; channel: admins post, subscribers read',
});
const Title = Type.String({ minLength: 1, maxLength: 128, description: '1 to 128 characters' });
const Seq = Type.Integer({ minimum: 0, description: 'A position in the chat log' });

export const Chat = Strict(
  {
    id: Id,
    kind: ChatKind,
    title: Type.String({ description: 'For a private chat, the other person; for saved messages, "Saved messages"' }),
    peer: Type.Optional(User),
    ownerId: Type.Union([Id, Type.Null()]),
    role: Role,
    memberCount: Type.Integer({ minimum: 0 }),
    lastSeq: Type.Integer({ minimum: 0, description: 'Position of the latest change in this chat' }),
    lastMessage: Type.Union([Message, Type.Null()]),
    readSeq: Type.Integer({ minimum: 0, description: 'My read position' }),
    unreadCount: Type.Integer({ minimum: 0 }),
    unreadMentions: Type.Optional(Type.Integer({ minimum: 1, description: 'How many of the unread messages @mention me (groups); absent when none' })),
    muted: Type.Boolean(),
    avatarFileId: Type.Union([FileId, Type.Null()], {
      description: "A group's or channel's picture (null for none; a private chat shows its peer's)",
    }),
    encryption: Type.Union([Type.Literal('e2ee'), Type.Literal('none')], {
      description:
        'e2ee: end-to-end encrypted, the server takes no text into it (its messages are MLS ciphertexts; its group may not exist yet); none: plaintext, as groups, channels and chats made before encryption was turned on',
    }),
    createdAt: Timestamp,
  },
  'A chat as the current user sees it',
);
export type Chat = Static<typeof Chat>;

export const Member = Strict({ user: User, role: Role, joinedAt: Timestamp, readSeq: Seq }, 'A chat member');
export type Member = Static<typeof Member>;

const ChatParams = Strict({ chatId: Id });
const UserIds = Type.Array(Id, { maxItems: 1000, uniqueItems: true });
const chatErrors = ['unauthorized', 'not_found'] as const;

export const listChats = endpoint({
  id: 'listChats',
  method: 'GET',
  path: '/chats',
  summary: 'My chats, most recent activity first',
  tag: 'chats',
  auth: true,
  response: Strict({ chats: Type.Array(Chat) }),
  errors: ['unauthorized'],
});

export const getChat = endpoint({
  id: 'getChat',
  method: 'GET',
  path: '/chats/:chatId',
  summary: 'One chat; a chat I am not in is reported as missing',
  tag: 'chats',
  auth: true,
  params: ChatParams,
  response: Chat,
  errors: [...chatErrors],
});

export const createPrivateChat = endpoint({
  id: 'createPrivateChat',
  method: 'POST',
  path: '/chats/private',
  summary: 'Open the private chat with another user (the same one every time)',
  tag: 'chats',
  auth: true,
  body: Strict({ userId: Id }),
  response: Chat,
  errors: ['unauthorized', 'not_found', 'invalid_request', 'chat_limit_reached', 'rate_limited'],
});

export const createGroup = endpoint({
  id: 'createGroup',
  method: 'POST',
  path: '/chats/groups',
  summary: 'Create a group; I am its owner',
  tag: 'chats',
  auth: true,
  status: 201,
  body: Strict({ title: Title, memberIds: Type.Optional(UserIds) }),
  response: Chat,
  errors: ['unauthorized', 'invalid_request', 'not_found', 'member_limit_reached', 'chat_limit_reached', 'rate_limited'],
});

export const createChannel = endpoint({
  id: 'createChannel',
  method: 'POST',
  path: '/chats/channels',
  summary: 'Create a channel; I am its owner, the others subscribe',
  tag: 'chats',
  auth: true,
  status: 201,
  body: Strict({ title: Title, memberIds: Type.Optional(UserIds) }),
  response: Chat,
  errors: ['unauthorized', 'invalid_request', 'not_found', 'member_limit_reached', 'chat_limit_reached', 'rate_limited'],
});

export const updateChat = endpoint({
  id: 'updateChat',
  method: 'PATCH',
  path: '/chats/:chatId',
  summary: 'Rename a group or channel or change its picture (owner, admins), or mute it for myself',
  tag: 'chats',
  auth: true,
  params: ChatParams,
  body: Strict({ title: Type.Optional(Title), avatarFileId: Type.Optional(AvatarFileId), muted: Type.Optional(Type.Boolean()) }),
  response: Chat,
  errors: [...chatErrors, 'forbidden', 'invalid_request', 'rate_limited', 'attachment_unavailable', 'file_too_large'],
});

export const deleteChat = endpoint({
  id: 'deleteChat',
  method: 'DELETE',
  path: '/chats/:chatId',
  summary: 'Delete a private chat for me or for both, or a group or channel for everyone (owner)',
  tag: 'chats',
  auth: true,
  status: 204,
  params: ChatParams,
  query: Strict({ forEveryone: Type.Optional(Type.Boolean({ description: 'Private chats: also for the other person' })) }),
  errors: [...chatErrors, 'forbidden', 'invalid_request'],
});

export const leaveChat = endpoint({
  id: 'leaveChat',
  method: 'POST',
  path: '/chats/:chatId/leave',
  summary: 'Leave a group or channel (an owner hands over ownership first)',
  tag: 'chats',
  auth: true,
  status: 204,
  params: ChatParams,
  errors: [...chatErrors, 'invalid_request'],
});

export const listMembers = endpoint({
  id: 'listMembers',
  method: 'GET',
  path: '/chats/:chatId/members',
  summary: 'Members of a chat',
  tag: 'chats',
  auth: true,
  params: ChatParams,
  response: Strict({ members: Type.Array(Member) }),
  errors: [...chatErrors],
});

export const addMembers = endpoint({
  id: 'addMembers',
  method: 'POST',
  path: '/chats/:chatId/members',
  summary: 'Add members to a group or subscribers to a channel (owner, admins)',
  tag: 'chats',
  auth: true,
  params: ChatParams,
  body: Strict({ userIds: Type.Array(Id, { minItems: 1, maxItems: 1000, uniqueItems: true }) }),
  response: Strict({
    members: Type.Array(Member, { description: 'Those added' }),
    invited: Type.Array(Id, { description: 'Those whose privacy setting asks for an invitation instead: they join by accepting it' }),
  }),
  errors: [...chatErrors, 'forbidden', 'invalid_request', 'member_limit_reached', 'chat_limit_reached', 'already_member', 'rate_limited'],
});

export const removeMember = endpoint({
  id: 'removeMember',
  method: 'DELETE',
  path: '/chats/:chatId/members/:userId',
  summary: 'Remove a member (owner; admins remove plain members)',
  tag: 'chats',
  auth: true,
  status: 204,
  params: Strict({ chatId: Id, userId: Id }),
  errors: [...chatErrors, 'forbidden', 'invalid_request'],
});

export const setMemberRole = endpoint({
  id: 'setMemberRole',
  method: 'PUT',
  path: '/chats/:chatId/members/:userId/role',
  summary: 'Make a member an admin or a plain member again (owner)',
  tag: 'chats',
  auth: true,
  params: Strict({ chatId: Id, userId: Id }),
  body: Strict({ role: Type.Union([Type.Literal('admin'), Type.Literal('member')], { description: 'In a channel, member means subscriber' }) }),
  response: Member,
  errors: [...chatErrors, 'forbidden', 'invalid_request'],
});

export const transferOwnership = endpoint({
  id: 'transferOwnership',
  method: 'POST',
  path: '/chats/:chatId/owner',
  summary: 'Hand the chat over to another member; I become an admin',
  tag: 'chats',
  auth: true,
  params: ChatParams,
  body: Strict({ userId: Id }),
  response: Chat,
  errors: [...chatErrors, 'forbidden', 'invalid_request'],
});

export const ChatInvitation = Strict(
  {
    chatId: Id,
    kind: Type.Union([Type.Literal('group'), Type.Literal('channel')]),
    title: Type.String(),
    invitedBy: User,
    createdAt: Timestamp,
  },
  'A group or channel someone asked me to join',
);
export type ChatInvitation = Static<typeof ChatInvitation>;

export const listChatInvitations = endpoint({
  id: 'listChatInvitations',
  method: 'GET',
  path: '/me/chat-invitations',
  summary: 'Groups and channels I was invited to and have not answered, newest first',
  tag: 'chats',
  auth: true,
  response: Strict({ invitations: Type.Array(ChatInvitation) }),
  errors: [...chatErrors],
});

export const acceptChatInvitation = endpoint({
  id: 'acceptChatInvitation',
  method: 'POST',
  path: '/chats/:chatId/invitation',
  summary: 'Join a group or channel I was invited to',
  tag: 'chats',
  auth: true,
  params: ChatParams,
  response: Chat,
  errors: [...chatErrors, 'member_limit_reached', 'chat_limit_reached', 'rate_limited'],
});

export const declineChatInvitation = endpoint({
  id: 'declineChatInvitation',
  method: 'DELETE',
  path: '/chats/:chatId/invitation',
  summary: 'Turn an invitation down',
  tag: 'chats',
  auth: true,
  params: ChatParams,
  errors: [...chatErrors],
});
