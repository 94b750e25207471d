import type { ParleyClient } from '@parley/sdk';

/** The usernames in a comma or space separated list, without a leading @ and without repeats. */
export function parseUsernames(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\s,]+/)
        .map((n) => n.replace(/^@/, '').trim())
        .filter(Boolean),
    ),
  ];
}

/** Finds users by username; all of them must exist. */
export async function resolveUsernames(client: ParleyClient, text: string): Promise<string[]> {
  const found = await Promise.all(
    parseUsernames(text).map((username) =>
      client.getUserByUsername({ username }).catch(() => {
        throw new Error(`No user named "${username}"`);
      }),
    ),
  );
  return found.map((u) => u.id);
}
