import { MAX_ATTACHMENTS, type Attachment, type AttachmentInput } from '@parley/protocol';
import type { Tx } from '../../adapters/db/database.ts';
import { AppError } from '../../lib/errors.ts';
import { insertRefs, takeRefs } from './files.store.ts';

/** Checks what a send asks to attach, before any write: at most 10, each file once. */
export function checkAttachments(inputs: AttachmentInput[] | undefined): AttachmentInput[] {
  const list = inputs ?? [];
  if (list.length > MAX_ATTACHMENTS) throw new AppError('invalid_request', `A message can carry at most ${MAX_ATTACHMENTS} attachments (got ${list.length})`);
  const seen = new Set<string>();
  for (const a of list) {
    if (seen.has(a.fileId)) throw new AppError('invalid_request', `File "${a.fileId}" is attached twice`);
    seen.add(a.fileId);
  }
  return list;
}

/**
 * Attaches finished uploads of the sender to a new message, inside the send's transaction: one
 * conditional UPDATE takes a reference on every file, then the references are written. A file that
 * is not the sender's, not finished or already being collected fails the whole send (nothing is
 * written), and the client uploads it again.
 */
export async function attachFiles(
  tx: Tx,
  options: { ownerId: string; chatId: string; messageId: string; attachments: AttachmentInput[] },
): Promise<Attachment[]> {
  const { attachments } = options;
  if (attachments.length === 0) return [];
  const taken = await takeRefs(tx, { fileIds: attachments.map((a) => a.fileId), ownerId: options.ownerId });
  const sizes = new Map(taken.map((t) => [t.id, t.size]));
  for (const a of attachments) {
    if (!sizes.has(a.fileId))
      throw new AppError('attachment_unavailable', `File "${a.fileId}" is not a finished upload of yours (it may have expired): upload it again`);
    if (a.size !== undefined && a.size !== sizes.get(a.fileId)) {
      throw new AppError('invalid_request', `File "${a.fileId}" has ${sizes.get(a.fileId)} bytes, not ${a.size}`);
    }
  }
  await insertRefs(
    tx,
    attachments.map((a) => ({ file_id: a.fileId, message_id: options.messageId, chat_id: options.chatId })),
  );
  return attachments.map((a) => ({
    fileId: a.fileId,
    name: a.name,
    mimeType: a.mimeType,
    size: sizes.get(a.fileId)!,
    ...(a.width !== undefined ? { width: a.width } : {}),
    ...(a.height !== undefined ? { height: a.height } : {}),
    ...(a.durationMs !== undefined ? { durationMs: a.durationMs } : {}),
    ...(a.thumbhash !== undefined ? { thumbhash: a.thumbhash } : {}),
    ...(a.thumbnail !== undefined ? { thumbnail: a.thumbnail } : {}),
    ...(a.voice !== undefined ? { voice: a.voice } : {}),
    ...(a.waveform !== undefined ? { waveform: a.waveform } : {}),
  }));
}
