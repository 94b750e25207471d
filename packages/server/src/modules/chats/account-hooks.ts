import type { AccountHooks } from '../accounts/hooks.ts';
import type { Work } from '../sync/unit-of-work.ts';
import { findHeir, lockChat, membershipsOf } from './chats.store.ts';
import { createSelfChat } from './create.ts';
import { deleteForEveryone } from './delete.ts';
import { removeMemberRow } from './members.ts';
import { handOver } from './ownership.ts';

/** When an account goes: saved messages go, other chats lose the member, owned chats pass on or end. */
export async function removeUserFromAllChats(work: Work, userId: string): Promise<void> {
  for (const c of await membershipsOf(work.tx, userId)) {
    await lockChat(work.tx, c.id);
    // Saved messages end as a chat deleted for everyone does: the cleanup job purges the chat and
    // releases its messages' files (removing the row here took the references without counting them down).
    if (c.kind === 'self') {
      await deleteForEveryone(work, c.id);
      continue;
    }
    if (c.role === 'owner') {
      const heir = await findHeir(work.tx, { chatId: c.id, ownerId: userId });
      if (!heir) {
        await deleteForEveryone(work, c.id);
        continue;
      }
      await handOver(work, { chatId: c.id, userId: heir, actorId: null });
    }
    await removeMemberRow(work, { chatId: c.id, userId, actorId: null });
  }
}

/** What chats do when an account is made (saved messages, encrypted when `e2ee`) or deleted (leave every chat). */
export function chatAccountHooks(options: { e2ee: boolean }): AccountHooks {
  return {
    created: (work, userId) => createSelfChat(work, userId, options),
    deleting: removeUserFromAllChats,
  };
}
