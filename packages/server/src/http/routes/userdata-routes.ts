import type { FastifyInstance, FastifyReply } from 'fastify';
import { api, type FileBody } from '@parley/protocol';
import type { AppContext } from '../../modules/app-context.ts';
import * as admin from '../../modules/userdata/admin.ts';
import { deleteUserData, exportUserData } from '../../modules/userdata/admin.ts';
import { exportMyData, type DataExport } from '../../modules/userdata/export.ts';
import { route } from '../route.ts';

/** Sends an export as a download; the zip is written as the client reads it. */
function sendExport(reply: FastifyReply, data: DataExport): FileBody {
  reply.type('application/zip');
  reply.header('content-disposition', `attachment; filename="${data.fileName}"`);
  reply.header('content-security-policy', "sandbox; default-src 'none'");
  reply.send(data.stream);
  // The reply is under way: route() returns it to Fastify, which waits for the stream.
  return reply as unknown as FileBody;
}

/** A user's data: their own export, and the admins' export and deletion of any account. */
export function userdataRoutes(app: FastifyInstance, ctx: AppContext): void {
  route(app, ctx, api.exportMyData, async ({ actor, reply }) => sendExport(reply, await exportMyData(ctx, actor)));
  route(app, ctx, api.exportUserData, async ({ actor, input, reply }) => sendExport(reply, await exportUserData(ctx, actor, input.userId)));
  route(app, ctx, api.deleteUserData, ({ actor, input }) => deleteUserData(ctx, actor, input.userId));
  route(app, ctx, api.listAccounts, ({ actor }) => admin.listAccounts(ctx, actor));
  route(app, ctx, api.disableAccount, ({ actor, input }) => admin.disableAccount(ctx, actor, input.userId));
  route(app, ctx, api.enableAccount, ({ actor, input }) => admin.enableAccount(ctx, actor, input.userId));
  route(app, ctx, api.resetAccountPassword, ({ actor, input }) => admin.resetAccountPassword(ctx, actor, input.userId));
  route(app, ctx, api.listAccountSessions, ({ actor, input }) => admin.listAccountSessions(ctx, actor, input.userId));
  route(app, ctx, api.endAccountSessions, ({ actor, input }) => admin.endAccountSessions(ctx, actor, input.userId));
  route(app, ctx, api.getServerStatus, ({ actor }) => admin.getServerStatus(ctx, actor));
  route(app, ctx, api.listAllInvites, ({ actor }) => admin.listAllInvites(ctx, actor));
}
