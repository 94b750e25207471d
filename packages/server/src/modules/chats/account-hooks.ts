import type { AccountHooks } from '../accounts/accounts.ts';
import type { Services } from '../../services.ts';
import { Outbox } from '../sync/log.ts';
import { createSelfChat, removeUserFromAllChats } from './chats.ts';

/** What chats do when an account is made (saved messages) or deleted (leave every chat). */
export function chatAccountHooks(s: Services): AccountHooks {
  return {
    async created(tx, userId, now) {
      await createSelfChat(tx, userId, now);
    },
    async deleting(tx, userId, now) {
      const out = new Outbox();
      await removeUserFromAllChats(s, tx, out, userId, now);
      return () => out.publish(s);
    },
  };
}
