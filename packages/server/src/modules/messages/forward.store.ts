import type { Tx } from '../../adapters/db/database.ts';

/** The source's sender's display name, and its chat's title and kind (what "Forwarded from" shows). */
export async function forwardOrigin(
  tx: Tx,
  options: { chatId: string; senderId: string },
): Promise<{ senderName: string; kind: string; title: string | null }> {
  const sender = await tx.selectFrom('users').select('display_name').where('id', '=', options.senderId).executeTakeFirst();
  const chat = await tx.selectFrom('chats').select(['kind', 'title']).where('id', '=', options.chatId).executeTakeFirstOrThrow();
  return { senderName: sender?.display_name ?? 'Deleted account', kind: chat.kind, title: chat.title };
}

/**
 * Takes one more reference on each file a forwarded message copies, whoever uploaded them, in one
 * conditional UPDATE (the way a send's attach does): the source still references them, so they are
 * finished and not collected. Returns the ids taken.
 */
export async function takeForwardRefs(tx: Tx, fileIds: string[]): Promise<string[]> {
  if (fileIds.length === 0) return [];
  const rows = await tx
    .updateTable('files')
    .set((eb) => ({ ref_count: eb('ref_count', '+', 1), unreferenced_since: null }))
    .where('id', 'in', fileIds)
    .where('state', '=', 'ready')
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}
