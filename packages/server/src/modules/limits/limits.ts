import type { Limits } from '@parley/protocol';
import type { Services } from '../services.ts';

/** The limits clients need to know, read from the one config. */
export function getLimits(s: Services): Limits {
  const { limits, sessions } = s.config;
  return {
    messageLength: limits.messageLength,
    groupMembers: limits.groupMembers,
    channelSubscribers: limits.channelSubscribers,
    chatsPerUser: limits.chatsPerUser,
    sessionsPerUser: sessions.max,
  };
}
