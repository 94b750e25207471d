import { MAX_ATTACHMENTS, type Limits } from '@parley/protocol';
import { AppError } from '../../lib/errors.ts';
import { rateLimited, takePoint } from '../../lib/rate-limit.ts';
import type { Actor, Services } from '../services.ts';

/** The limits clients need to know, read from the one config. */
export function getLimits(s: Services): Limits {
  const { limits, sessions, files } = s.config;
  return {
    messageLength: limits.messageLength,
    groupMembers: limits.groupMembers,
    channelSubscribers: limits.channelSubscribers,
    chatsPerUser: limits.chatsPerUser,
    sessionsPerUser: sessions.max,
    fileSize: files.maxFileBytes,
    uploadBytesPerHour: files.uploadBytes.points,
    unfinishedUploads: files.unfinishedPerUser,
    attachmentsPerMessage: MAX_ATTACHMENTS,
  };
}

/**
 * Runs one of a user's reads (sync, presence, history) within their read rate and their calls in
 * flight on this node: past either, a 429, so one user's loops cannot take a node's time from others.
 */
export async function withinReadLimits<T>(s: Services, actor: Actor, read: () => Promise<T>): Promise<T> {
  const leave = s.limiters.readsInFlight.enter(actor.userId);
  if (!leave) throw new AppError('rate_limited', 'Too many requests at once: wait for the ones running', { 'retry-after': '1' });
  try {
    const limited = await takePoint(s.limiters.reads, actor.userId);
    if (limited) throw rateLimited(limited, 'requests');
    return await read();
  } finally {
    leave();
  }
}

/** Takes a point of the user's budget for changes other than sends (edits, deletes, renames, new chats, new members). */
export async function takeWritePoint(s: Services, actor: Actor): Promise<void> {
  const limited = await takePoint(s.limiters.writes, actor.userId);
  if (limited) throw rateLimited(limited, 'changes');
}
