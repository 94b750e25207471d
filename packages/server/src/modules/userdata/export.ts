import { Readable, type PassThrough } from 'node:stream';
import { ZipFile } from 'yazl';
import { AppError } from '../../lib/errors.ts';
import { rateLimited, takePoint } from '../../lib/rate-limit.ts';
import { findActiveUser } from '../accounts/accounts.store.ts';
import { toMe } from '../accounts/views.ts';
import { loadChats, loadMembers } from '../chats/get.ts';
import type { Actor, Services } from '../services.ts';
import { userSessions } from '../sessions/sessions.store.ts';
import { toSession } from '../sessions/views.ts';
import { liveOwnFiles, ownMessageCounts, ownMessagePage } from './userdata.store.ts';
import {
  chatHeading,
  filePath,
  messageAsText,
  readme,
  toExportedChat,
  toExportedMessage,
  toExportedProfile,
  type ExportedChat,
  type ExportedMessage,
} from './views.ts';

/** Messages read per query while a chat's files are written. */
const PAGE = 500;

export interface DataExport {
  /** The zip as it is made: nothing is held whole, a file's bytes flow from the blob store as the client reads */
  stream: Readable;
  /** A name for the download, e.g. parley-alice-2026-03-01.zip */
  fileName: string;
}

/** Takes one of the actor's export points (an export reads all of an account's data), or fails with 429. */
export async function takeExportPoint(s: Services, actor: { userId: string }): Promise<void> {
  const limited = await takePoint(s.limiters.exports, actor.userId);
  if (limited) throw rateLimited(limited, 'data exports');
}

/** My data, as a zip (see docs/operations.md, "Data export"). */
export async function exportMyData(s: Services, actor: Actor): Promise<DataExport> {
  await takeExportPoint(s, actor);
  return buildExport(s, actor.userId);
}

/** The messages one user wrote in a chat, page by page, as the export shows them. */
async function* ownMessages(s: Services, options: { chatId: string; userId: string; files: ReadonlyMap<string, string> }): AsyncGenerator<ExportedMessage> {
  let after = 0;
  for (;;) {
    const rows = await ownMessagePage(s.db.kysely, { chatId: options.chatId, userId: options.userId, after, limit: PAGE });
    for (const row of rows) yield toExportedMessage(row, options.files);
    if (rows.length < PAGE) return;
    after = Number(rows[rows.length - 1]!.seq);
  }
}

async function* messagesJson(s: Services, chat: ExportedChat, options: { userId: string; files: ReadonlyMap<string, string> }): AsyncGenerator<string> {
  yield `{"chat":${JSON.stringify({ id: chat.id, kind: chat.kind, title: chat.title })},"messages":[`;
  let first = true;
  for await (const m of ownMessages(s, { chatId: chat.id, ...options })) {
    yield `${first ? '\n' : ',\n'}${JSON.stringify(m)}`;
    first = false;
  }
  yield '\n]}\n';
}

async function* messagesText(
  s: Services,
  chat: ExportedChat,
  options: { userId: string; owner: { displayName: string; username: string }; files: ReadonlyMap<string, string> },
): AsyncGenerator<string> {
  yield chatHeading(chat, options.owner);
  for await (const m of ownMessages(s, { chatId: chat.id, userId: options.userId, files: options.files })) yield messageAsText(m);
}

/**
 * Everything of one account's that the export holds, as a zip stream. The small files (profile,
 * chats) are made before the first byte goes out; messages are read a page at a time and files
 * opened one at a time, each only when the zip reaches it, so the client's pace sets the server's.
 * A blob that cannot be read ends the stream with an error (the client sees a cut download).
 */
export async function buildExport(s: Services, userId: string): Promise<DataExport> {
  const user = await findActiveUser(s.db.kysely, userId);
  if (!user) throw new AppError('not_found', `User "${userId}" was not found`);
  const now = s.now();
  const me = toMe(user);
  const owner = { displayName: me.displayName, username: me.username };
  const sessions = (await userSessions(s.db.kysely, userId)).map((r) => toSession(r, ''));
  const files = await liveOwnFiles(s.db.kysely, userId);
  const paths = new Map(files.map((f) => [f.id, filePath(f)]));
  const chats = await loadChats(s, { userId, includeHidden: true });
  const counts = await ownMessageCounts(s.db.kysely, { userId, chatIds: chats.map((c) => c.id) });
  const exported: ExportedChat[] = [];
  for (const chat of chats) {
    // As the chat shows them: a channel's audience is its admins' to see, so only who runs it is named.
    const members = (await loadMembers(s, { chatId: chat.id })).filter((m) => chat.kind !== 'channel' || m.role === 'owner' || m.role === 'admin');
    exported.push(toExportedChat(chat, { members, messageCount: counts.get(chat.id) ?? 0 }));
  }

  const zip = new ZipFile();
  // yazl's output is a PassThrough (its types say only ReadableStream).
  const out = zip.outputStream as PassThrough;
  let reading: Readable | null = null;
  const fail = (err: Error) => {
    s.log.warn({ err, userId }, 'data export stopped');
    reading?.destroy();
    out.destroy(err);
  };
  zip.on('error', fail);
  // The client went away: stop reading whatever was being copied.
  out.on('close', () => reading?.destroy());
  const addStream = (name: string, open: () => Promise<Readable>, options: { compress: boolean; mtime?: Date }) => {
    zip.addReadStreamLazy(name, { compress: options.compress, mtime: options.mtime ?? new Date(now) }, (cb) => {
      open().then(
        (stream) => {
          reading = stream;
          stream.once('error', fail);
          cb(null, stream);
        },
        (err: Error) => fail(err),
      );
    });
  };
  const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);

  const messageTotal = exported.reduce((n, c) => n + c.messageCount, 0);
  zip.addBuffer(
    Buffer.from(readme({ username: me.username, exportedAt: new Date(now).toISOString(), chats: chats.length, messages: messageTotal, files: files.length })),
    'README.txt',
    { mtime: new Date(now) },
  );
  zip.addBuffer(json(toExportedProfile(me, { sessions, picture: (me.avatarFileId && paths.get(me.avatarFileId)) ?? null, now })), 'profile.json', {
    mtime: new Date(now),
  });
  zip.addBuffer(json(exported), 'chats.json', { mtime: new Date(now) });
  for (const chat of exported) {
    if (!chat.messages) continue;
    addStream(chat.messages.json, async () => Readable.from(messagesJson(s, chat, { userId, files: paths })), { compress: true });
    addStream(chat.messages.text, async () => Readable.from(messagesText(s, chat, { userId, owner, files: paths })), { compress: true });
  }
  // Stored as they are: media is compressed already, and deflating 100 MiB would cost CPU for nothing.
  for (const file of files) addStream(paths.get(file.id)!, () => s.blobs.read(file.id), { compress: false, mtime: new Date(Number(file.created_at)) });
  zip.end();
  return { stream: out, fileName: `parley-${me.username}-${new Date(now).toISOString().slice(0, 10)}.zip` };
}
