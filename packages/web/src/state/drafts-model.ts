import { signal } from '@preact/signals';
import { createModel } from './create-model.ts';
import type { AppStorage } from './storage.ts';

/** What I typed in each chat and have not sent, per signed-in user, kept in storage across reloads. */
export const DraftsModel = createModel((storage: AppStorage) => {
  const drafts = signal<Record<string, string>>({});
  let userId: string | null = null;

  return {
    drafts,
    /** Loads the drafts of the user who just signed in. */
    load(forUserId: string) {
      userId = forUserId;
      drafts.value = storage.drafts(forUserId);
    },
    get(chatId: string): string {
      return drafts.value[chatId] ?? '';
    },
    /** Keeps a chat's unsent text; blank text is no draft. */
    set(chatId: string, text: string) {
      const { [chatId]: _old, ...rest } = drafts.value;
      const next = text.trim() ? { ...rest, [chatId]: text } : rest;
      if ((drafts.value[chatId] ?? '') === (next[chatId] ?? '')) return;
      drafts.value = next;
      if (userId) storage.setDrafts(userId, next);
    },
    reset() {
      userId = null;
      drafts.value = {};
    },
  };
});
export type DraftsModel = InstanceType<typeof DraftsModel>;
