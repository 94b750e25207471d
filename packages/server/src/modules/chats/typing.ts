import type { Actor, Services } from '../services.ts';
import { requireMember } from './access.ts';
import { memberIds } from './chats.store.ts';

/** Tells the other members that I am typing. Never stored: a lost indicator costs nothing. */
export async function typing(s: Services, actor: Actor, chatId: string): Promise<void> {
  const db = s.db.kysely;
  await requireMember(db, { chatId, userId: actor.userId });
  const others = (await memberIds(db, chatId)).filter((u) => u !== actor.userId);
  if (others.length > 0) s.bus.publish('deliver', { userIds: others, typing: { chatId, userId: actor.userId } });
}
