import type { CallNotice, Presence, SyncEvent, User } from '@parley/protocol';

/**
 * Something for the sockets of some users: a logged event, a presence change, a typing
 * indicator or a changed profile. The bus carries it as data; the gateway of each node encodes it into a frame once,
 * for all of its recipients' sockets.
 */
export type Delivery =
  | { userIds: string[]; event: SyncEvent }
  | { userIds: string[]; presence: Presence }
  | { userIds: string[]; typing: { chatId: string; userId: string } }
  | { userIds: string[]; profile: User }
  | CallDelivery;

/**
 * A call frame for some devices: routed to the nodes holding the users (as any delivery), then
 * written only to the sockets of `sessionIds` when given (SDP and ICE go to one device), and never
 * to `exceptSessionId` (the device that caused it already knows).
 */
export interface CallDelivery {
  userIds: string[];
  sessionIds?: string[];
  exceptSessionId?: string;
  call: CallNotice;
}

/** Sessions whose access tokens no longer hold. */
export interface SessionIds {
  sessionIds: string[];
}

/** The cluster protocol: every topic a node publishes, and what its messages carry. */
export interface BusTopics {
  /** to deliver to the recipients' sockets, wherever they are */
  deliver: Delivery;
  /** sessions that ended: caches drop them, their sockets close */
  'sessions.revoked': SessionIds;
  /** sessions whose tokens were replaced: caches drop them, sockets stay */
  'sessions.rotated': SessionIds;
}

export type Topic = keyof BusTopics;
