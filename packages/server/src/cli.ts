import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createContext, type AppContext } from './context.ts';
import { createLogger } from './logger.ts';
import { AppError } from './lib/errors.ts';
import * as invites from './modules/invites/invites.ts';
import * as accounts from './modules/accounts/accounts.ts';
import { configOrExit, serve } from './main.ts';
import { backup } from './backup/backup.ts';
import { restore } from './backup/restore.ts';
import { deleteUserDataOf } from './modules/userdata/admin.ts';
import { buildExport } from './modules/userdata/export.ts';
import { describePlan, planMigrations } from './adapters/db/dry-run.ts';

const USAGE = `Usage: parley <command>

  serve                         run the server (HTTP + WebSocket) on PORT/HOST
  migrate [--dry-run]           apply database migrations and exit; with --dry-run, print the pending
                                migrations and the SQL each would run, changing nothing
  invite create [--uses N] [--expires 7d|12h|30m|never] [--admin]
                                create an invite; prints only the code
  invite list                   list every invite
  user list                     list accounts
  user disable NAME             disable an account and end its sessions
  user reset-password NAME      set a new random password (printed) and end its sessions
  user export NAME FILE.zip     write the account's data export (what it downloads from its profile) to
                                the new file FILE.zip
  user delete NAME              delete the account (as its owner would: its messages to others stay, from
                                a deleted account) and release its files for the next cleanup run
  backup DIR                    while the server runs: a consistent snapshot of the database and a copy
                                of every file into the new directory DIR, with a manifest of checksums
  restore DIR                   into an empty data directory or database: checks the backup in DIR
                                whole, then restores it and applies newer migrations

Configuration comes from environment variables; see .env.example.`;

/** "7d" → seconds; "never" → null. */
export function parseDuration(text: string): number | null {
  if (text === 'never') return null;
  const m = /^(\d+)([smhd])$/.exec(text);
  if (!m) throw new AppError('invalid_request', `Duration "${text}" must look like 30m, 12h, 7d or never`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

/** Writes an account's export to a new file (an existing one is left alone); a failed export leaves no file. */
async function exportToFile(ctx: AppContext, username: string, file: string): Promise<string> {
  const data = await buildExport(ctx, await accounts.idOf(ctx, username));
  const target = createWriteStream(file, { flags: 'wx' });
  try {
    await pipeline(data.stream, target);
  } catch (err) {
    data.stream.destroy();
    // A file that was there before is not ours to remove.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AppError('invalid_request', `"${file}" exists already: give a new file name`);
    await rm(file, { force: true });
    throw new AppError('invalid_request', `Could not write the export to "${file}": ${(err as Error).message}`);
  }
  return `Wrote the data of ${username} to ${file} (${target.bytesWritten} bytes)`;
}

export async function runCli(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (command === 'serve') return serve();
  // Neither opens the store as the server does: a backup reads beside the running server, and a
  // restore must find its target empty (opening it would create and migrate a database there).
  if (command === 'backup' || command === 'restore') {
    if (!sub || rest.length > 0) fail(`Usage: parley ${command} DIR`);
    const say = (line: string) => process.stdout.write(`${line}\n`);
    try {
      if (command === 'backup') await backup(configOrExit(), sub, say);
      else await restore(configOrExit(), sub, say);
    } catch (err) {
      fail(err instanceof Error ? err.message : String(err));
    }
    return;
  }

  // Opening the context would create the database and apply what the dry run is only to show.
  if (command === 'migrate' && sub === '--dry-run') {
    if (rest.length > 0) fail('Usage: parley migrate [--dry-run]');
    try {
      for (const line of describePlan(await planMigrations(configOrExit().db))) process.stdout.write(`${line}\n`);
    } catch (err) {
      fail(`The dry run failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    return;
  }

  const ctx = await createContext(configOrExit(), { log: createLogger('warn', 2) });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  try {
    const applied = await ctx.db.migrate();
    if (command === 'migrate') {
      out(applied.length ? `Applied: ${applied.join(', ')}` : 'The database is up to date');
    } else if (command === 'invite' && sub === 'create') {
      const { values } = parseArgs({ args: rest, options: { uses: { type: 'string' }, expires: { type: 'string' }, admin: { type: 'boolean' } } });
      const uses = values.uses === undefined ? 1 : Number(values.uses);
      if (!Number.isInteger(uses) || uses < 1 || uses > 1_000_000) fail(`--uses must be a positive integer (got "${values.uses}")`);
      const invite = await invites.createInvite(ctx, null, {
        maxUses: uses,
        expiresInSeconds: values.expires === undefined ? undefined : parseDuration(values.expires),
        admin: values.admin ?? false,
      });
      out(invite.code!);
    } else if (command === 'invite' && sub === 'list') {
      for (const i of await invites.listInvites(ctx, null)) {
        out(
          `${i.id}  ${i.codeHint}…  uses ${i.uses}/${i.maxUses}  ${i.admin ? 'admin  ' : ''}expires ${i.expiresAt ?? 'never'}${i.revokedAt ? '  revoked' : ''}`,
        );
      }
    } else if (command === 'user' && sub === 'list') {
      for (const u of await accounts.listUsers(ctx)) {
        out(`${u.username}  ${u.display_name}${u.is_admin ? '  admin' : ''}${u.disabled_at ? '  disabled' : ''}`);
      }
    } else if (command === 'user' && sub === 'disable' && rest[0]) {
      await accounts.disableUser(ctx, await accounts.idOf(ctx, rest[0]));
      out(`Disabled ${rest[0]}`);
    } else if (command === 'user' && sub === 'reset-password' && rest[0]) {
      out(await accounts.resetPassword(ctx, await accounts.idOf(ctx, rest[0])));
    } else if (command === 'user' && sub === 'export' && rest[0] && rest[1] && rest.length === 2) {
      out(await exportToFile(ctx, rest[0], rest[1]));
    } else if (command === 'user' && sub === 'delete' && rest[0] && rest.length === 1) {
      const done = await deleteUserDataOf(ctx, await accounts.idOf(ctx, rest[0]));
      out(`Deleted ${rest[0]}: sessions ended, chats left, profile emptied; messages sent to others stay, from a deleted account`);
      out(`Released the files of ${done.messagesWithFiles} message(s); ${done.filesReleased} file(s) go at the next cleanup run`);
    } else {
      fail(`Unknown command "${argv.join(' ')}"\n\n${USAGE}`);
    }
  } catch (err) {
    if (err instanceof AppError) fail(err.message);
    throw err;
  } finally {
    await ctx.close();
  }
}
