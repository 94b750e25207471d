import type { Presence } from '@parley/protocol';
import type { Actor, Services } from '../../services.ts';
import { DELIVER, type Delivery } from '../sync/log.ts';
import { iso } from '../sessions/views.ts';

/** Users who see my presence: those who share a private chat or a group with me (not channel audiences). */
async function contactsOf(s: Services, userId: string, among?: string[]): Promise<string[]> {
  let q = s.db.kysely
    .selectFrom('members as mine')
    .innerJoin('chats', 'chats.id', 'mine.chat_id')
    .innerJoin('members as theirs', 'theirs.chat_id', 'mine.chat_id')
    .select('theirs.user_id')
    .distinct()
    .where('mine.user_id', '=', userId)
    .where('chats.kind', 'in', ['private', 'group'])
    .where('theirs.user_id', '!=', userId);
  if (among) q = q.where('theirs.user_id', 'in', among);
  return (await q.execute()).map((r) => r.user_id);
}

/**
 * Who is online on this node: a user is online while any of their devices holds a socket.
 * Changes are told to the user's contacts through the bus.
 */
export class PresenceTracker {
  private readonly sockets = new Map<string, number>();
  private readonly s: Services;

  constructor(s: Services) {
    this.s = s;
  }

  isOnline(userId: string): boolean {
    return (this.sockets.get(userId) ?? 0) > 0;
  }

  connected(userId: string): void {
    const n = (this.sockets.get(userId) ?? 0) + 1;
    this.sockets.set(userId, n);
    if (n === 1) void this.announce(userId, true, null);
  }

  disconnected(userId: string): void {
    const n = (this.sockets.get(userId) ?? 1) - 1;
    if (n > 0) {
      this.sockets.set(userId, n);
      return;
    }
    this.sockets.delete(userId);
    const now = this.s.now();
    void this.s.db.kysely
      .updateTable('users')
      .set({ last_seen_at: now })
      .where('id', '=', userId)
      .execute()
      .catch((err) => this.s.log.warn({ err }, 'last seen update failed'));
    void this.announce(userId, false, now);
  }

  private async announce(userId: string, online: boolean, lastSeenAt: number | null): Promise<void> {
    try {
      const contacts = await contactsOf(this.s, userId);
      if (contacts.length === 0) return;
      const frame: Presence & { type: 'presence' } = { type: 'presence', userId, online, lastSeenAt: lastSeenAt === null ? null : iso(lastSeenAt) };
      this.s.bus.publish(DELIVER, { userIds: contacts, frame: JSON.stringify(frame) } satisfies Delivery);
    } catch (err) {
      this.s.log.warn({ err }, 'presence announcement failed');
    }
  }

  /** Presence of the given users, for those who share a chat with the actor. */
  async get(actor: Actor, userIds: string[]): Promise<Presence[]> {
    const visible = await contactsOf(this.s, actor.userId, userIds);
    if (visible.length === 0) return [];
    const rows = await this.s.db.kysely.selectFrom('users').select(['id', 'last_seen_at']).where('id', 'in', visible).execute();
    return rows.map((r) => ({
      userId: r.id,
      online: this.isOnline(r.id),
      lastSeenAt: r.last_seen_at == null ? null : iso(Number(r.last_seen_at)),
    }));
  }
}
