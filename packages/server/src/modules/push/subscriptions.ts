import { MAX_PUSH_SUBSCRIPTIONS_PER_SESSION, type PushConfig, type PushSubscriptionInput } from '@parley/protocol';
import { AppError } from '../../lib/errors.ts';
import { newOrderedId } from '../../lib/ids.ts';
import type { Actor, Services } from '../services.ts';
import { commit } from '../sync/unit-of-work.ts';
import type { PushService } from './push-service.ts';
import { deleteSubscription, trimSubscriptions, upsertSubscription } from './push.store.ts';

/** What a client subscribes with: the server's VAPID public key. */
export async function getPushConfig(push: PushService): Promise<PushConfig> {
  return { publicKey: (await push.vapidKeys()).publicKey };
}

/**
 * A push endpoint must be an https URL (the server posts notifications to it); only a test server
 * may allow http://127.0.0.1, for its local fake push service (PARLEY_PUSH_ALLOW_LOOPBACK_HTTP).
 */
export function checkEndpoint(s: Services, endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new AppError('invalid_request', `The push endpoint "${endpoint}" is not a URL`);
  }
  const loopback = s.config.push.allowLoopbackHttp && url.protocol === 'http:' && url.hostname === '127.0.0.1';
  if (url.protocol !== 'https:' && !loopback) throw new AppError('invalid_request', `The push endpoint "${endpoint}" is not an https URL`);
  if (url.username || url.password) throw new AppError('invalid_request', `The push endpoint "${endpoint}" carries credentials`);
  return url.href;
}

/** Registers this session's subscription; a session keeps its newest few, and loses them all when it ends. */
export async function subscribePush(s: Services, actor: Actor, input: PushSubscriptionInput): Promise<void> {
  const endpoint = checkEndpoint(s, input.endpoint);
  await commit(s, async (work) => {
    await upsertSubscription(work.tx, {
      id: newOrderedId(),
      session_id: actor.sessionId,
      user_id: actor.userId,
      endpoint,
      p256dh: input.keys.p256dh.replace(/=+$/, ''),
      auth: input.keys.auth.replace(/=+$/, ''),
      created_at: work.now,
    });
    await trimSubscriptions(work.tx, { sessionId: actor.sessionId, endpoint, keep: MAX_PUSH_SUBSCRIPTIONS_PER_SESSION });
  });
}

/** Removes one of this session's subscriptions; an endpoint it does not have is no error. */
export async function unsubscribePush(s: Services, actor: Actor, input: { endpoint: string }): Promise<void> {
  let endpoint = input.endpoint;
  try {
    endpoint = new URL(input.endpoint).href;
  } catch {
    // Not a URL: no subscription has it.
  }
  await deleteSubscription(s.db.kysely, { sessionId: actor.sessionId, endpoint });
}
