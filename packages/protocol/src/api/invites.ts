import { Type, type Static } from 'typebox';
import { endpoint } from '../endpoint.ts';
import { Id, Strict, Timestamp } from '../common.ts';

export const InviteUse = Strict(
  {
    userId: Id,
    username: Type.Union([Type.String(), Type.Null()], { description: 'null once the account is deleted' }),
    displayName: Type.String({ description: 'Its display name now' }),
    usedAt: Timestamp,
  },
  'An account registered with an invite',
);
export type InviteUse = Static<typeof InviteUse>;

export const Invite = Strict(
  {
    id: Id,
    code: Type.Optional(Type.String({ description: 'The code itself; returned only when the invite is created' })),
    codeHint: Type.String({ description: 'The first characters of the code, to recognise it' }),
    maxUses: Type.Integer({ minimum: 1 }),
    uses: Type.Integer({ minimum: 0 }),
    admin: Type.Boolean({ description: 'Accounts registered with it are administrators' }),
    createdAt: Timestamp,
    expiresAt: Type.Union([Timestamp, Type.Null()]),
    revokedAt: Type.Union([Timestamp, Type.Null()]),
    usedBy: Type.Optional(
      Type.Array(InviteUse, {
        description: 'The accounts registered with it, earliest first, for its creator and the admins (none recorded before schema level 016)',
      }),
    ),
  },
  'An invite code that lets people register',
);
export type Invite = Static<typeof Invite>;

export const createInvite = endpoint({
  id: 'createInvite',
  method: 'POST',
  path: '/invites',
  summary: 'Create an invite code (a per-day limit applies to non-admins)',
  tag: 'invites',
  auth: true,
  status: 201,
  body: Strict({
    maxUses: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'How many accounts it may create (default 1)' })),
    expiresInSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 31_536_000, description: 'Lifetime in seconds (default 7 days)' })),
  }),
  response: Invite,
  errors: ['unauthorized', 'invalid_request', 'invite_limit_reached'],
});

export const listInvites = endpoint({
  id: 'listInvites',
  method: 'GET',
  path: '/invites',
  summary: 'Invites created by the current user, newest first',
  tag: 'invites',
  auth: true,
  response: Strict({ invites: Type.Array(Invite) }),
  errors: ['unauthorized'],
});

export const revokeInvite = endpoint({
  id: 'revokeInvite',
  method: 'DELETE',
  path: '/invites/:inviteId',
  summary: 'Revoke one of the current user invites',
  tag: 'invites',
  auth: true,
  status: 204,
  params: Strict({ inviteId: Id }),
  errors: ['unauthorized', 'not_found'],
});
