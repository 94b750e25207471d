import { Type, type Static } from 'typebox';
import { endpoint } from '../endpoint.ts';
import { Id, Strict, Timestamp } from '../common.ts';
import { AvatarFileId } from './files.ts';

const UsernameParam = Type.String({ minLength: 1, maxLength: 64 });
const DisplayNameField = Type.String({ minLength: 1, maxLength: 64 });
const PasswordField = Type.String({ minLength: 8, maxLength: 256 });

export const AddPolicy = Type.Union([Type.Literal('everyone'), Type.Literal('contacts'), Type.Literal('nobody')], {
  description: 'Who may add me to groups and channels: everyone, people I share a chat with, or nobody; the others can only invite me',
});
export type AddPolicy = Static<typeof AddPolicy>;

export const Me = Strict(
  {
    id: Id,
    username: Type.String(),
    displayName: Type.String(),
    isAdmin: Type.Boolean(),
    addPolicy: AddPolicy,
    avatarFileId: AvatarFileId,
    createdAt: Timestamp,
  },
  'The signed-in user',
);
export type Me = Static<typeof Me>;

export const User = Strict(
  {
    id: Id,
    username: Type.Union([Type.String(), Type.Null()], { description: 'null once the account is deleted' }),
    displayName: Type.String(),
    deleted: Type.Boolean({ description: 'true for a deleted account; its messages stay' }),
    avatarFileId: AvatarFileId,
  },
  'Another user as others see them',
);
export type User = Static<typeof User>;

export const getMe = endpoint({
  id: 'getMe',
  method: 'GET',
  path: '/me',
  summary: 'The current user',
  tag: 'account',
  auth: true,
  response: Me,
  errors: ['unauthorized'],
});

export const updateMe = endpoint({
  id: 'updateMe',
  method: 'PATCH',
  path: '/me',
  summary: 'Change the current user profile',
  tag: 'account',
  auth: true,
  body: Strict({ displayName: Type.Optional(DisplayNameField), addPolicy: Type.Optional(AddPolicy), avatarFileId: Type.Optional(AvatarFileId) }),
  response: Me,
  errors: ['unauthorized', 'invalid_request', 'attachment_unavailable', 'file_too_large'],
});

export const changePassword = endpoint({
  id: 'changePassword',
  method: 'POST',
  path: '/me/password',
  summary: 'Change the password; every other session is terminated',
  tag: 'account',
  auth: true,
  status: 204,
  body: Strict({ currentPassword: Type.String({ minLength: 1, maxLength: 256 }), newPassword: PasswordField }),
  errors: ['unauthorized', 'invalid_request', 'invalid_credentials', 'rate_limited'],
});

export const deleteAccount = endpoint({
  id: 'deleteAccount',
  method: 'POST',
  path: '/me/delete',
  summary: 'Delete the current account; messages sent to others remain, shown as from a deleted account',
  tag: 'account',
  auth: true,
  status: 204,
  body: Strict({ password: Type.String({ minLength: 1, maxLength: 256 }) }),
  errors: ['unauthorized', 'invalid_request', 'invalid_credentials', 'rate_limited'],
});

export const getUserByUsername = endpoint({
  id: 'getUserByUsername',
  method: 'GET',
  path: '/users/by-username/:username',
  summary: 'Look up a user by username (case-insensitive)',
  tag: 'users',
  auth: true,
  params: Strict({ username: UsernameParam }),
  response: User,
  errors: ['unauthorized', 'not_found'],
});

export const getUser = endpoint({
  id: 'getUser',
  method: 'GET',
  path: '/users/:userId',
  summary: 'Look up a user by id',
  tag: 'users',
  auth: true,
  params: Strict({ userId: Id }),
  response: User,
  errors: ['unauthorized', 'not_found'],
});

export const searchUsers = endpoint({
  id: 'searchUsers',
  method: 'GET',
  path: '/users',
  summary: 'Find people to write to: usernames and display names that start with the words given (not me, not disabled or deleted accounts)',
  tag: 'users',
  auth: true,
  query: Strict({
    q: Type.String({ minLength: 1, maxLength: 64, description: 'The start of a username (an @ in front is ignored) or of a word of a display name' }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 20, description: 'At most 20 (default 10)' })),
  }),
  response: Strict({ users: Type.Array(User) }),
  errors: ['unauthorized', 'invalid_request', 'rate_limited'],
});
