export * from './errors.ts';
export * from './endpoint.ts';
export * from './common.ts';
export * from './api/auth.ts';
export * from './api/account.ts';
export * from './api/invites.ts';
import * as auth from './api/auth.ts';
import * as account from './api/account.ts';
import * as invites from './api/invites.ts';

/** Every HTTP operation, keyed by its operationId. */
export const api = {
  register: auth.register,
  login: auth.login,
  refreshSession: auth.refreshSession,
  logout: auth.logout,
  getCurrentSession: auth.getCurrentSession,
  listSessions: auth.listSessions,
  terminateSession: auth.terminateSession,
  terminateOtherSessions: auth.terminateOtherSessions,
  getMe: account.getMe,
  updateMe: account.updateMe,
  changePassword: account.changePassword,
  deleteAccount: account.deleteAccount,
  getUserByUsername: account.getUserByUsername,
  getUser: account.getUser,
  createInvite: invites.createInvite,
  listInvites: invites.listInvites,
  revokeInvite: invites.revokeInvite,
} as const;
export type Api = typeof api;
