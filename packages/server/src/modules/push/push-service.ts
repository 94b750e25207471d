import { createHash } from 'node:crypto';
import webpush from 'web-push';
import type { ChatEvent } from '@parley/protocol';
import type { Delivery } from '../../adapters/bus/topics.ts';
import type { PushSubscriptionsTable } from '../../adapters/db/schema.ts';
import type { PresenceTracker } from '../presence/presence.ts';
import type { Actor, Services } from '../services.ts';
import { pushPayload, type PushPayload } from './payload.ts';
import { deleteSubscriptionById, findKeys, insertKeysIfNone, pushContext, subscriptionsOf, unmutedMembers } from './push.store.ts';

/** Messages waiting to be looked at; beyond this a burst is dropped (and logged) rather than held in memory. */
const MAX_QUEUED = 10_000;
/** A push service that does not answer in this long is given up on. */
const SEND_TIMEOUT_MS = 10_000;
/** How long a push service keeps a notification for a device that is offline. */
const TTL_SECONDS = 24 * 3600;
/** How long a shutdown waits for pushes under way. */
const CLOSE_BUDGET_MS = 3000;

export interface VapidKeyPair {
  publicKey: string;
  privateKey: string;
}

/**
 * Web push for new messages (docs/push.md). It listens to the deliveries this node publishes and,
 * off the send path, sends each new message in a private chat or group to the push subscriptions
 * of the members who have no socket open anywhere, have not muted the chat and did not send it.
 * Channels push nothing. Work is queued and done a few at a time; failures are logged, and a
 * subscription the push service says is gone (404, 410) is deleted.
 */
export class PushService {
  private readonly s: Services;
  private readonly presence: PresenceTracker;
  private keys: Promise<VapidKeyPair> | undefined;
  private readonly queue: (() => Promise<void>)[] = [];
  private active = 0;
  private closed = false;
  private readonly idleWaiters = new Set<() => void>();
  private readonly unsubscribe: () => void;

  constructor(s: Services, options: { presence: PresenceTracker }) {
    this.s = s;
    this.presence = options.presence;
    this.unsubscribe = s.bus.subscribe('deliver', (d) => this.delivered(d));
  }

  /** The VAPID key pair: from config, else the one in the store, made at the first need. */
  vapidKeys(): Promise<VapidKeyPair> {
    this.keys ??= this.loadKeys().catch((err: unknown) => {
      this.keys = undefined;
      throw err;
    });
    return this.keys;
  }

  private async loadKeys(): Promise<VapidKeyPair> {
    if (this.s.config.push.vapid) return this.s.config.push.vapid;
    const db = this.s.db.kysely;
    let row = await findKeys(db);
    if (!row) {
      const made = webpush.generateVAPIDKeys();
      // Of several nodes starting at once, the first insert wins and all read it back.
      await insertKeysIfNone(db, { id: 'vapid', public_key: made.publicKey, private_key: made.privateKey, created_at: this.s.now() });
      row = (await findKeys(db))!;
      this.s.log.info('A VAPID key pair for web push was generated and stored');
    }
    return { publicKey: row.public_key, privateKey: row.private_key };
  }

  private delivered(d: Delivery): void {
    if (this.closed || !('event' in d) || d.event.log !== 'chat' || d.event.type !== 'message.created' || !d.event.message) return;
    const event = d.event;
    this.enqueue(() => this.newMessage(event, d.userIds));
  }

  private enqueue(task: () => Promise<void>): void {
    if (this.queue.length >= MAX_QUEUED) {
      this.s.log.warn('web push queue full: a notification was dropped');
      return;
    }
    this.queue.push(task);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.s.config.push.concurrency && this.queue.length > 0) {
      const task = this.queue.shift()!;
      this.active++;
      void task()
        .catch((err: unknown) => this.s.log.warn({ err }, 'web push failed'))
        .finally(() => {
          this.active--;
          this.pump();
          if (this.active === 0 && this.queue.length === 0) for (const done of this.idleWaiters) done();
        });
    }
  }

  /** Who hears of a new message by push, and what they read. */
  private async newMessage(event: ChatEvent, recipients: string[]): Promise<void> {
    const message = event.message!;
    const db = this.s.db.kysely;
    const found = await pushContext(db, { chatId: event.chatId, senderId: message.senderId });
    if (!found || found.chat.kind === 'channel' || found.chat.kind === 'self') return;
    const delivered = new Set(recipients);
    const candidates = (await unmutedMembers(db, { chatId: event.chatId, except: message.senderId })).filter((u) => delivered.has(u));
    if (candidates.length === 0) return;
    // A user with a socket open somewhere is notified by that client; presence answers for those
    // who share a private chat or group with the sender, which every candidate does.
    const asSender: Actor = { userId: message.senderId, sessionId: '', isAdmin: false, ip: '', userAgent: '' };
    const online = new Set((await this.presence.get(asSender, candidates)).filter((p) => p.online).map((p) => p.userId));
    const subscriptions = await subscriptionsOf(
      db,
      candidates.filter((u) => !online.has(u)),
    );
    if (subscriptions.length === 0) return;
    const payload = pushPayload(found.chat, message, found.senderName);
    for (const sub of subscriptions) this.enqueue(() => this.send(sub, payload));
  }

  private async send(sub: PushSubscriptionsTable, payload: PushPayload): Promise<void> {
    const keys = await this.vapidKeys();
    // web-push makes the VAPID header and the aes128gcm body (RFC 8291, 8292); the request is ours,
    // so that a timeout, no redirects and the tests' plain-HTTP push service are in our hands.
    const details = webpush.generateRequestDetails({ endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } }, JSON.stringify(payload), {
      vapidDetails: { subject: this.s.config.push.subject, publicKey: keys.publicKey, privateKey: keys.privateKey },
      TTL: TTL_SECONDS,
      urgency: 'high',
      contentEncoding: 'aes128gcm',
      // A newer notification for the chat replaces one the push service still holds.
      topic: createHash('sha256').update(payload.chatId).digest('base64url').slice(0, 32),
    });
    const headers = Object.fromEntries(Object.entries(details.headers).map(([k, v]) => [k, String(v)]));
    const res = await fetch(details.endpoint, {
      method: 'POST',
      headers,
      body: details.body ? new Uint8Array(details.body) : undefined,
      redirect: 'error',
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    await res.body?.cancel();
    if (res.status === 404 || res.status === 410) {
      await deleteSubscriptionById(this.s.db.kysely, sub.id);
      this.s.log.info({ status: res.status, host: new URL(sub.endpoint).host }, 'push subscription gone: deleted');
    } else if (!res.ok) {
      this.s.log.warn({ status: res.status, host: new URL(sub.endpoint).host }, 'push service refused a notification');
    }
  }

  /** Resolves once nothing is queued or under way (tests, shutdown). */
  idle(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.idleWaiters.delete(done);
        resolve();
      };
      this.idleWaiters.add(done);
    });
  }

  /** Stops listening, drops what is still queued, and lets pushes under way finish within a bounded time. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    this.queue.length = 0;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise((r) => (timer = setTimeout(r, CLOSE_BUDGET_MS)))]);
    clearTimeout(timer);
  }
}
