import { Type, type Static } from 'typebox';
import { endpoint } from '../endpoint.ts';
import { Strict } from '../common.ts';

// Web push (docs/push.md): a session hands the server its browser's push subscription, and the
// server sends a notification through the browser's push service while the user has no socket open.

/** Push subscriptions one session may hold; a newer one makes the oldest go. */
export const MAX_PUSH_SUBSCRIPTIONS_PER_SESSION = 5;
/** The longest push service endpoint URL accepted. */
export const MAX_PUSH_ENDPOINT_LENGTH = 2048;

/** Unpadded (or padded) base64url of `bytes` bytes. */
function Base64Url(bytes: number, description: string) {
  const chars = Math.ceil((bytes * 4) / 3);
  return Type.String({ pattern: `^[A-Za-z0-9_-]{${chars}}=*$`, maxLength: chars + 2, description: `${description} (base64url)` });
}

export const PushConfig = Strict(
  {
    publicKey: Base64Url(65, "The server's VAPID public key (uncompressed P-256 point): the applicationServerKey of PushManager.subscribe"),
  },
  'What a client needs to subscribe to push',
);
export type PushConfig = Static<typeof PushConfig>;

export const PushSubscriptionInput = Strict(
  {
    endpoint: Type.String({
      minLength: 1,
      maxLength: MAX_PUSH_ENDPOINT_LENGTH,
      description: "The push service URL of the subscription (https only), from the browser's PushSubscription",
    }),
    keys: Strict({
      p256dh: Base64Url(65, "The subscription's P-256 public key (uncompressed point)"),
      auth: Base64Url(16, "The subscription's authentication secret"),
    }),
  },
  "A browser's push subscription, as PushSubscription.toJSON() gives it (expirationTime left out)",
);
export type PushSubscriptionInput = Static<typeof PushSubscriptionInput>;

export const getPushConfig = endpoint({
  id: 'getPushConfig',
  method: 'GET',
  path: '/push/config',
  summary: "The server's VAPID public key, to subscribe to web push with",
  tag: 'push',
  auth: true,
  response: PushConfig,
  errors: ['unauthorized'],
});

export const subscribePush = endpoint({
  id: 'subscribePush',
  method: 'POST',
  path: '/push/subscriptions',
  summary: "Register this session's push subscription (the same endpoint again replaces its keys)",
  tag: 'push',
  auth: true,
  status: 204,
  body: PushSubscriptionInput,
  errors: ['unauthorized', 'invalid_request'],
});

export const unsubscribePush = endpoint({
  id: 'unsubscribePush',
  method: 'POST',
  path: '/push/subscriptions/remove',
  summary: "Remove one of this session's push subscriptions (nothing happens if it has none with this endpoint)",
  tag: 'push',
  auth: true,
  status: 204,
  body: Strict({ endpoint: Type.String({ minLength: 1, maxLength: MAX_PUSH_ENDPOINT_LENGTH, description: 'The endpoint of the subscription to remove' }) }),
  errors: ['unauthorized', 'invalid_request'],
});
