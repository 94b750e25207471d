import { endpoint } from '../endpoint.ts';
import { Type, type Static } from 'typebox';
import { FileResponse, Id, Strict, Timestamp } from '../common.ts';
import { Session } from './auth.ts';
import { Invite } from './invites.ts';
import { Limits } from './limits.ts';

/** The media type of a data export. */
export const EXPORT_MEDIA_TYPE = 'application/zip';

const ExportZip = FileResponse(
  EXPORT_MEDIA_TYPE,
  'A zip, streamed as it is made: README.txt (what is inside), profile.json (profile, settings, sessions), chats.json (chats and members’ names), messages/<chatId>.json and .txt (the messages the account wrote), files/<fileId>-<name> (the files it uploaded that are still in use)',
);

export const exportMyData = endpoint({
  id: 'exportMyData',
  method: 'GET',
  path: '/me/export',
  summary: 'Download my data as a zip (a few per hour: each reads all of an account’s data)',
  tag: 'account',
  auth: true,
  response: ExportZip,
  produces: EXPORT_MEDIA_TYPE,
  errors: ['unauthorized', 'rate_limited'],
});

export const exportUserData = endpoint({
  id: 'exportUserData',
  method: 'GET',
  path: '/admin/users/:userId/export',
  summary: 'Admins: download an account’s data, the same zip as its owner gets (counted against the admin’s exports)',
  tag: 'admin',
  auth: true,
  params: Strict({ userId: Id }),
  response: ExportZip,
  produces: EXPORT_MEDIA_TYPE,
  errors: ['unauthorized', 'forbidden', 'not_found', 'rate_limited'],
});

export const deleteUserData = endpoint({
  id: 'deleteUserData',
  method: 'POST',
  path: '/admin/users/:userId/delete',
  summary:
    'Admins: delete an account as its owner would (sessions end, chats are left, the profile is emptied; messages to others stay, from a deleted account) and release its files for collection',
  tag: 'admin',
  auth: true,
  status: 204,
  params: Strict({ userId: Id }),
  errors: ['unauthorized', 'forbidden', 'not_found', 'invalid_request'],
});

/** An account as an admin sees it. */
export const AdminAccount = Strict(
  {
    id: Id,
    username: Type.String(),
    displayName: Type.String(),
    isAdmin: Type.Boolean(),
    createdAt: Timestamp,
    lastSeenAt: Type.Union([Timestamp, Type.Null()], { description: 'When one of its devices was last connected' }),
    disabledAt: Type.Union([Timestamp, Type.Null()], { description: 'null while the account may sign in' }),
    sessions: Type.Integer({ minimum: 0, description: 'Signed-in devices' }),
  },
  'An account as an admin sees it',
);
export type AdminAccount = Static<typeof AdminAccount>;

const AccountParams = Strict({ userId: Id });

export const listAccounts = endpoint({
  id: 'listAccounts',
  method: 'GET',
  path: '/admin/users',
  summary: 'Admins: every account but deleted ones, oldest first',
  tag: 'admin',
  auth: true,
  response: Strict({ users: Type.Array(AdminAccount) }),
  errors: ['unauthorized', 'forbidden'],
});

export const disableAccount = endpoint({
  id: 'disableAccount',
  method: 'POST',
  path: '/admin/users/:userId/disable',
  summary: 'Admins: stop an account from signing in and end its sessions at once (not my own)',
  tag: 'admin',
  auth: true,
  status: 204,
  params: AccountParams,
  errors: ['unauthorized', 'forbidden', 'not_found', 'invalid_request'],
});

export const enableAccount = endpoint({
  id: 'enableAccount',
  method: 'POST',
  path: '/admin/users/:userId/enable',
  summary: 'Admins: let a disabled account sign in again',
  tag: 'admin',
  auth: true,
  status: 204,
  params: AccountParams,
  errors: ['unauthorized', 'forbidden', 'not_found'],
});

export const resetAccountPassword = endpoint({
  id: 'resetAccountPassword',
  method: 'POST',
  path: '/admin/users/:userId/reset-password',
  summary: 'Admins: give an account a new random password (answered once, to hand over) and end its sessions (not my own: use changePassword)',
  tag: 'admin',
  auth: true,
  params: AccountParams,
  response: Strict({ password: Type.String() }),
  errors: ['unauthorized', 'forbidden', 'not_found', 'invalid_request'],
});

export const listAccountSessions = endpoint({
  id: 'listAccountSessions',
  method: 'GET',
  path: '/admin/users/:userId/sessions',
  summary: 'Admins: the signed-in devices of an account',
  tag: 'admin',
  auth: true,
  params: AccountParams,
  response: Strict({ sessions: Type.Array(Session) }),
  errors: ['unauthorized', 'forbidden', 'not_found'],
});

export const endAccountSessions = endpoint({
  id: 'endAccountSessions',
  method: 'POST',
  path: '/admin/users/:userId/sessions/end',
  summary: 'Admins: sign an account out of every device (not my own: use terminateOtherSessions)',
  tag: 'admin',
  auth: true,
  params: AccountParams,
  response: Strict({ ended: Type.Integer({ minimum: 0 }) }),
  errors: ['unauthorized', 'forbidden', 'not_found', 'invalid_request'],
});

export const ServerStatus = Strict(
  {
    version: Type.String({ description: "This server's Parley version" }),
    node: Type.String({ description: 'The node that answered' }),
    store: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')]),
    storeUp: Type.Boolean(),
    bus: Type.Union([Type.Literal('in-process'), Type.Literal('redis')], { description: 'in-process on one node; redis between several' }),
    busUp: Type.Boolean({ description: 'false while this node cannot reach Redis (live events between nodes stop; nothing is lost)' }),
    blobStore: Type.Union([Type.Literal('local'), Type.Literal('s3')]),
    limits: Limits,
    counts: Strict({
      accounts: Type.Integer({ minimum: 0, description: 'Live accounts, disabled ones included' }),
      chats: Type.Integer({ minimum: 0 }),
      messages: Type.Integer({ minimum: 0, description: 'Messages stored, tombstones of deleted ones included' }),
      files: Type.Integer({ minimum: 0, description: 'Finished files' }),
      fileBytes: Type.Integer({ minimum: 0 }),
    }),
  },
  "The server's health, configuration and size, for its admins",
);
export type ServerStatus = Static<typeof ServerStatus>;

export const getServerStatus = endpoint({
  id: 'getServerStatus',
  method: 'GET',
  path: '/admin/server',
  summary: 'Admins: version, store and bus health as this node sees them, limits, and how much the server holds',
  tag: 'admin',
  auth: true,
  response: ServerStatus,
  errors: ['unauthorized', 'forbidden'],
});

export const listAllInvites = endpoint({
  id: 'listAllInvites',
  method: 'GET',
  path: '/admin/invites',
  summary: "Admins: every invite, whoever made it (the CLI's included), newest first",
  tag: 'admin',
  auth: true,
  response: Strict({ invites: Type.Array(Invite) }),
  errors: ['unauthorized', 'forbidden'],
});
