import type { Actor, Services } from '../services.ts';
import { requireMember } from './access.ts';
import { memberIds } from './chats.store.ts';

/** Tells the other members that I am typing. Never stored: a lost indicator costs nothing. */
export async function typing(s: Services, actor: Actor, chatId: string): Promise<void> {
  const db = s.db.kysely;
  const m = await requireMember(db, { chatId, userId: actor.userId });
  // A channel is a broadcast: nobody is shown typing there, and its audience is not told who reads it.
  if (m.chat.kind === 'channel') return;
  const others = (await memberIds(db, chatId)).filter((u) => u !== actor.userId);
  if (others.length > 0) s.bus.publish('deliver', { userIds: others, typing: { chatId, userId: actor.userId } });
}
