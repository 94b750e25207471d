import type { Kysely } from 'kysely';
import type { Tx } from '../../adapters/db/database.ts';
import { precompiled } from '../../adapters/db/precompiled.ts';
import type { DB, MessagesTable } from '../../adapters/db/schema.ts';

/** The message a sender sent with this client id, if any (what makes a retried send idempotent). */
export async function findSent(db: Kysely<DB>, sent: { chatId: string; senderId: string; clientMessageId: string }): Promise<MessagesTable | undefined> {
  return db
    .selectFrom('messages')
    .selectAll()
    .where('chat_id', '=', sent.chatId)
    .where('sender_id', '=', sent.senderId)
    .where('client_message_id', '=', sent.clientMessageId)
    .executeTakeFirst();
}

const insertMessageRow = precompiled(
  (
    db: Kysely<DB>,
    id: string,
    chatId: string,
    seq: number,
    senderId: string,
    clientMessageId: string,
    text: string,
    replyToId: string | null,
    createdAt: number,
    attachments: string | null,
    kind: MessagesTable['kind'],
    ciphertext: Buffer | null,
    mlsEpoch: number | null,
    editOf: string | null,
    forwarded: string | null,
    mentions: string | null,
  ) =>
    db.insertInto('messages').values({
      id,
      chat_id: chatId,
      seq,
      sender_id: senderId,
      client_message_id: clientMessageId,
      kind,
      text,
      reply_to_id: replyToId,
      created_at: createdAt,
      edited_at: null,
      deleted_at: null,
      attachments,
      ciphertext,
      mls_epoch: mlsEpoch,
      edit_of: editOf,
      forwarded,
      mentions,
    }),
);

/** Inserts a new message (the send path: the query is compiled once). */
export async function insertMessage(tx: Tx, row: MessagesTable & { text: string }): Promise<void> {
  await insertMessageRow(
    tx,
    row.id,
    row.chat_id,
    row.seq,
    row.sender_id,
    row.client_message_id,
    row.text,
    row.reply_to_id,
    row.created_at,
    row.attachments ?? null,
    row.kind,
    row.ciphertext ?? null,
    row.mls_epoch ?? null,
    row.edit_of ?? null,
    row.forwarded ?? null,
    row.mentions ?? null,
  );
}

export async function messageInChat(db: Kysely<DB>, options: { chatId: string; messageId: string }): Promise<MessagesTable | undefined> {
  return db.selectFrom('messages').selectAll().where('id', '=', options.messageId).where('chat_id', '=', options.chatId).executeTakeFirst();
}

export async function isInChat(tx: Tx, options: { chatId: string; messageId: string }): Promise<boolean> {
  const row = await tx.selectFrom('messages').select('id').where('id', '=', options.messageId).where('chat_id', '=', options.chatId).executeTakeFirst();
  return row !== undefined;
}

export interface PageQuery {
  chatId: string;
  /** only positions after this one (what the reader deleted for themselves is before it) */
  floor: number | null;
  before?: number;
  after?: number;
  limit: number;
}

/** Up to `limit` messages in position order: the first after `after`, else the last before `before` (or the last of all). */
export async function messagePage(db: Kysely<DB>, page: PageQuery): Promise<MessagesTable[]> {
  let q = db.selectFrom('messages').selectAll().where('chat_id', '=', page.chatId);
  if (page.floor !== null) q = q.where('seq', '>', page.floor);
  if (page.after !== undefined) return q.where('seq', '>', page.after).orderBy('seq', 'asc').limit(page.limit).execute();
  if (page.before !== undefined) q = q.where('seq', '<', page.before);
  return (await q.orderBy('seq', 'desc').limit(page.limit).execute()).reverse();
}

export async function setText(tx: Tx, options: { messageId: string; text: string; mentions: string | null; at: number }): Promise<void> {
  await tx.updateTable('messages').set({ text: options.text, mentions: options.mentions, edited_at: options.at }).where('id', '=', options.messageId).execute();
}

/** Keeps a deleted message as a tombstone: its position stays, its text goes. */
export async function setDeleted(tx: Tx, options: { messageId: string; at: number }): Promise<void> {
  await tx
    .updateTable('messages')
    .set({
      text: null,
      attachments: null,
      reactions: null,
      ciphertext: null,
      forwarded: null,
      mentions: null,
      pinned_at: null,
      pinned_by: null,
      deleted_at: options.at,
    })
    .where('id', '=', options.messageId)
    .execute();
  // An encrypted message's edits hold its text too: their ciphertexts go with it.
  await tx
    .updateTable('messages')
    .set({ ciphertext: null, deleted_at: options.at })
    .where('edit_of', '=', options.messageId)
    .where('deleted_at', 'is', null)
    .execute();
  await tx.deleteFrom('reactions').where('message_id', '=', options.messageId).execute();
}

/** The position of the last message at or before `seq`, 0 when there is none. */
export async function lastMessageSeqUpTo(tx: Tx, options: { chatId: string; seq: number }): Promise<number> {
  const row = await tx
    .selectFrom('messages')
    .select('seq')
    .where('chat_id', '=', options.chatId)
    .where('seq', '<=', options.seq)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? Number(row.seq) : 0;
}

export async function setReadSeq(tx: Tx, options: { chatId: string; userId: string; seq: number }): Promise<void> {
  await tx.updateTable('members').set({ read_seq: options.seq }).where('chat_id', '=', options.chatId).where('user_id', '=', options.userId).execute();
}

/** Messages from others after `readSeq` (and after `hiddenSeq`), deleted ones aside. */
export async function unreadCount(db: Kysely<DB>, options: { chatId: string; userId: string; readSeq: number; hiddenSeq: number | null }): Promise<number> {
  let q = db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('chat_id', '=', options.chatId)
    .where('seq', '>', options.readSeq)
    .where('sender_id', '!=', options.userId)
    .where('deleted_at', 'is', null);
  if (options.hiddenSeq !== null) q = q.where('seq', '>', options.hiddenSeq);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

/** Marks an encrypted message edited: the edit itself is a new message naming it. */
export async function setEdited(tx: Tx, options: { messageId: string; at: number }): Promise<void> {
  await tx.updateTable('messages').set({ edited_at: options.at }).where('id', '=', options.messageId).execute();
}
