export * from './errors.ts';
export * from './constants.ts';
export * from './endpoint.ts';
export * from './common.ts';
export * from './frames.ts';
export * from './api/auth.ts';
export * from './api/account.ts';
export * from './api/invites.ts';
export * from './api/chats.ts';
export * from './api/messages.ts';
export * from './api/sync.ts';
export * from './api/limits.ts';
export * from './api/files.ts';
export * from './api/userdata.ts';
export * from './api/e2ee.ts';
export * from './api/push.ts';
import * as auth from './api/auth.ts';
import * as account from './api/account.ts';
import * as invites from './api/invites.ts';
import * as chats from './api/chats.ts';
import * as messages from './api/messages.ts';
import * as sync from './api/sync.ts';
import * as limits from './api/limits.ts';
import * as userdata from './api/userdata.ts';
import * as e2ee from './api/e2ee.ts';
import * as push from './api/push.ts';

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
  searchUsers: account.searchUsers,
  createInvite: invites.createInvite,
  listInvites: invites.listInvites,
  revokeInvite: invites.revokeInvite,
  listChats: chats.listChats,
  getChat: chats.getChat,
  createPrivateChat: chats.createPrivateChat,
  createGroup: chats.createGroup,
  createChannel: chats.createChannel,
  updateChat: chats.updateChat,
  deleteChat: chats.deleteChat,
  leaveChat: chats.leaveChat,
  listMembers: chats.listMembers,
  addMembers: chats.addMembers,
  removeMember: chats.removeMember,
  setMemberRole: chats.setMemberRole,
  transferOwnership: chats.transferOwnership,
  listChatInvitations: chats.listChatInvitations,
  acceptChatInvitation: chats.acceptChatInvitation,
  declineChatInvitation: chats.declineChatInvitation,
  sendMessage: messages.sendMessage,
  listMessages: messages.listMessages,
  editMessage: messages.editMessage,
  deleteMessage: messages.deleteMessage,
  markRead: messages.markRead,
  searchMessages: messages.searchMessages,
  addReaction: messages.addReaction,
  removeReaction: messages.removeReaction,
  pinMessage: messages.pinMessage,
  unpinMessage: messages.unpinMessage,
  listPins: messages.listPins,
  getChanges: sync.getChanges,
  getPresence: sync.getPresence,
  getLimits: limits.getLimits,
  exportMyData: userdata.exportMyData,
  exportUserData: userdata.exportUserData,
  deleteUserData: userdata.deleteUserData,
  listAccounts: userdata.listAccounts,
  disableAccount: userdata.disableAccount,
  enableAccount: userdata.enableAccount,
  resetAccountPassword: userdata.resetAccountPassword,
  listAccountSessions: userdata.listAccountSessions,
  endAccountSessions: userdata.endAccountSessions,
  getServerStatus: userdata.getServerStatus,
  listAllInvites: userdata.listAllInvites,
  putIdentity: e2ee.putIdentity,
  getIdentity: e2ee.getIdentity,
  getRecovery: e2ee.getRecovery,
  registerDevice: e2ee.registerDevice,
  approveDevice: e2ee.approveDevice,
  listDevices: e2ee.listDevices,
  getDeviceLists: e2ee.getDeviceLists,
  publishDeviceList: e2ee.publishDeviceList,
  uploadKeyPackages: e2ee.uploadKeyPackages,
  countKeyPackages: e2ee.countKeyPackages,
  claimKeyPackages: e2ee.claimKeyPackages,
  getGroupInfo: e2ee.getGroupInfo,
  postCommit: e2ee.postCommit,
  reportMlsFailure: e2ee.reportMlsFailure,
  postDeviceLink: e2ee.postDeviceLink,
  getDeviceLink: e2ee.getDeviceLink,
  getPushConfig: push.getPushConfig,
  subscribePush: push.subscribePush,
  unsubscribePush: push.unsubscribePush,
} as const;
export type Api = typeof api;
