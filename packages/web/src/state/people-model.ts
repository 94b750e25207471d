import { signal, type ReadonlySignal } from '@preact/signals';
import { createModel } from './create-model.ts';
import type { Me, ParleyClient, Presence, User } from '@parley/sdk';

/** The users this client has met (names for messages) and who is online. */
export const PeopleModel = createModel((client: ParleyClient, me: ReadonlySignal<Me | null>) => {
  const users = signal<Record<string, User>>({});
  const presence = signal<Record<string, Presence>>({});
  const lookups = new Set<string>();

  function remember(list: User[]): void {
    const next = { ...users.value };
    for (const u of list) next[u.id] = u;
    users.value = next;
  }

  function setPresence(p: Presence): void {
    presence.value = { ...presence.value, [p.userId]: p };
  }

  function fetchPresence(userIds: string[]): void {
    if (userIds.length === 0) return;
    client
      .getPresence({ userIds: [...new Set(userIds)].slice(0, 500) })
      .then(({ presence: list }) => (presence.value = { ...presence.value, ...Object.fromEntries(list.map((p) => [p.userId, p])) }))
      .catch(() => {});
  }

  return {
    users,
    presence,
    me,
    remember,
    setPresence,
    fetchPresence,
    /** Fetches a user not met yet, once. */
    lookUp(userId: string) {
      if (lookups.has(userId)) return;
      lookups.add(userId);
      client
        .getUser({ userId })
        .then((found) => remember([found]))
        .catch(() => {});
    },
    reset() {
      users.value = {};
      presence.value = {};
    },
  };
});
export type PeopleModel = InstanceType<typeof PeopleModel>;

/**
 * A user's display name, fetched once when not yet known. A plain function, not a model action:
 * it runs while rendering, and the component must subscribe to the names it reads.
 */
export function userName(people: PeopleModel, userId: string): string {
  const u = people.users.value[userId];
  if (u) return u.displayName;
  const me = people.me.value;
  if (me?.id === userId) return me.displayName;
  people.lookUp(userId);
  return '…';
}
