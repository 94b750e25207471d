import { randomBytes } from 'node:crypto';
import fastifyStatic from '@fastify/static';
import { EVENTS, HEADERS, MemoryLocker, Server as TusServer, type Locker, type Upload } from '@tus/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FILE_ID_HEADER, FILES_PATH, SHA256_HEADER, UPLOADS_PATH } from '@parley/protocol';
import type { AppContext } from '../../modules/app-context.ts';
import type { Actor } from '../../modules/services.ts';
import { fileForDownload } from '../../modules/files/download.ts';
import { admitUpload, finishUpload, forgetUpload, recordUpload, requireOwnUpload } from '../../modules/files/uploads.ts';
import { AppError } from '../../lib/errors.ts';
import { requireActor } from '../auth.ts';
import { patchUpload, type UploadPatcher } from './upload-patch.ts';

/** The actor of each upload request, resolved by the Fastify hook before tus sees the request. */
const actors = new WeakMap<object, Actor>();

function actorOf(req: { runtime?: { node?: { req: object } } }): Actor {
  const node = req.runtime?.node?.req;
  const actor = node && actors.get(node);
  if (!actor) throw { status_code: 401, body: 'Unauthorized' };
  return actor;
}

/** A tus hook's refusal as tus sends it: our error shape in the body. */
function tusError(err: AppError): { status_code: number; body: string } {
  return { status_code: err.status, body: JSON.stringify({ error: { code: err.code, message: err.message } }) };
}

const UPLOAD_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** How long a PATCH asked for its upload's lock goes on receiving before it stops and lets go. */
const LOCK_DRAIN_MS = 3000;

function declaredLength(req: FastifyRequest): number {
  if (req.headers['upload-defer-length'] !== undefined)
    throw new AppError('invalid_request', 'Declare the Upload-Length when creating an upload (deferred lengths are not accepted)');
  const value = req.headers['upload-length'];
  if (typeof value !== 'string' || !/^\d{1,16}$/.test(value)) throw new AppError('invalid_request', 'Upload-Length must be the file size in bytes');
  return Number(value);
}

/**
 * How a local blob is sent: Range and type handled here, no cache headers of the library's, and in
 * 1 MiB reads (@fastify/send passes highWaterMark on to the file stream, though its types do not name
 * it). At Node's default 64 KiB a write per piece was most of a download's CPU (bench: 4.9 ms per MiB,
 * 1.1 ms with this).
 */
const SEND_OPTIONS = { cacheControl: false, contentType: false, dotfiles: 'deny' as const, highWaterMark: 1024 * 1024 };

/** A filename for Content-Disposition: an ASCII fallback and the UTF-8 name (RFC 6266). */
function contentDisposition(name: string | null): string {
  if (!name) return 'attachment';
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * One node: uploads are locked in this process. With Redis (several nodes), in Redis, so that a client
 * resuming through another node waits for the first node's PATCH to stop instead of writing beside it.
 */
async function uploadLocker(app: FastifyInstance, ctx: AppContext): Promise<Locker> {
  if (!ctx.config.redisUrl) return new MemoryLocker();
  const { RedisUploadLocker } = await import('../../adapters/blobs/redis-upload-locker.ts');
  const locker = new RedisUploadLocker({ url: ctx.config.redisUrl });
  app.addHook('onClose', () => locker.close());
  return locker;
}

/**
 * Uploads (tus 1.0 at /api/v1/uploads) and downloads (/api/v1/files/:fileId). The tus server gets
 * the raw request after a Fastify onRequest hook has authenticated it and, for a new upload, checked
 * the limits against the declared length: a refused upload stores nothing.
 */
export async function fileRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const maxSize = ctx.config.files.maxFileBytes;
  const locker = await uploadLocker(app, ctx);
  const finished = async (upload: Upload) => {
    const { sha256 } = await finishUpload(ctx, upload.id);
    return { [FILE_ID_HEADER]: upload.id, [SHA256_HEADER]: sha256 };
  };
  const tus = new TusServer({
    path: UPLOADS_PATH,
    datastore: ctx.blobs.uploads,
    locker,
    lockDrainTimeout: LOCK_DRAIN_MS,
    maxSize,
    relativeLocation: true,
    disableTerminationForFinishedUploads: true,
    namingFunction: () => `f_${randomBytes(16).toString('base64url')}`,
    exposedHeaders: [FILE_ID_HEADER, SHA256_HEADER],
    async onUploadCreate(req, upload) {
      const actor = actorOf(req);
      try {
        const meta = upload.metadata ?? {};
        await recordUpload(ctx, actor, { id: upload.id, size: upload.size ?? 0, name: meta.filename ?? meta.name, mimeType: meta.filetype ?? meta.type });
      } catch (err) {
        if (err instanceof AppError) throw tusError(err);
        throw err;
      }
      return {};
    },
    // A POST may carry the first bytes (creation-with-upload) and so finish an upload too.
    async onUploadFinish(_req, upload) {
      try {
        return { headers: await finished(upload) };
      } catch (err) {
        if (err instanceof AppError) throw tusError(err);
        throw err;
      }
    },
  });
  const patcher: UploadPatcher = {
    store: ctx.blobs.uploads,
    locker,
    lockDrainMs: LOCK_DRAIN_MS,
    headers: {
      'tus-resumable': '1.0.0',
      'access-control-allow-origin': '*',
      'access-control-expose-headers': [...HEADERS, FILE_ID_HEADER, SHA256_HEADER].join(', '),
    },
    finished,
    failed: (err, upload) => ctx.log.error({ err, upload }, 'an upload PATCH failed'),
  };
  tus.on(EVENTS.POST_TERMINATE, (_req, _res, id) => {
    forgetUpload(ctx, id).catch((err) => ctx.log.warn({ err, upload: id }, 'could not forget a terminated upload'));
  });

  await app.register(async (scope) => {
    // The body stays a stream for tus: nothing parses or buffers it (and bodyLimit does not apply).
    scope.addContentTypeParser('application/offset+octet-stream', (_req, _payload, done) => done(null));
    scope.addHook('onSend', async (_req, reply, payload) => {
      reply.header('tus-resumable', '1.0.0');
      return payload;
    });
    scope.addHook('onRequest', async (req, reply) => {
      req.operationId = 'upload';
      if (req.method === 'OPTIONS') return;
      if (req.method === 'GET') throw new AppError('method_not_allowed', `Download files at ${FILES_PATH}/:fileId`);
      const actor = await requireActor(ctx, req);
      req.actor = actor;
      const id = (req.params as { '*'?: string })['*'];
      if (req.method === 'POST') {
        if (id) throw new AppError('method_not_allowed', 'Create an upload with POST to the uploads URL itself');
        const { refund } = await admitUpload(ctx, actor, declaredLength(req));
        // Charged at creation; given back if tus does not create it after all.
        reply.raw.once('finish', () => {
          if (reply.raw.statusCode !== 201) void refund();
        });
      } else {
        if (!id || !UPLOAD_ID.test(id)) throw new AppError('not_found', 'No such upload');
        await requireOwnUpload(ctx, actor, id);
      }
      actors.set(req.raw, actor);
    });
    const handle = async (req: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      const streaming = req.method === 'PATCH';
      if (streaming) ctx.metrics.uploadsInProgress.inc();
      reply.raw.setHeader('x-content-type-options', 'nosniff');
      reply.raw.setHeader('cache-control', 'no-store');
      try {
        if (streaming) await patchUpload(patcher, (req.params as { '*': string })['*'], req.raw, reply.raw);
        else await tus.handle(req.raw, reply.raw);
      } finally {
        if (streaming) ctx.metrics.uploadsInProgress.dec();
      }
    };
    // The tus protocol is its own specification (docs/files.md), not operations of the OpenAPI document.
    const hidden = { schema: { hide: true } };
    scope.all(UPLOADS_PATH, hidden, handle);
    scope.all(`${UPLOADS_PATH}/*`, hidden, handle);
  });

  await app.register(async (scope) => {
    const local = ctx.config.files.store.kind === 'local';
    if (local) await scope.register(fastifyStatic, { root: ctx.config.files.blobDir, serve: false });
    // A range past the end is the client's mistake: 416 with the size (Content-Range: bytes */size),
    // as S3 answers it, rather than the generic 400 other framework errors become.
    scope.setErrorHandler((err, _req, reply) => {
      const e = err as { statusCode?: number; headers?: Record<string, string> };
      if (e.statusCode !== 416) throw err;
      return reply
        .code(416)
        .headers(e.headers ?? {})
        .type('application/json; charset=utf-8')
        .send({ error: { code: 'range_not_satisfiable', message: 'The requested range lies outside the file' } });
    });
    scope.get<{ Params: { fileId: string } }>(
      `${FILES_PATH}/:fileId`,
      {
        schema: {
          operationId: 'downloadFile',
          summary: 'Download a file: its owner, or a member of a chat with a message carrying it (Range supported)',
          tags: ['files'],
          security: [{ bearer: [] }],
        },
        onRequest: async (req) => {
          req.operationId = 'downloadFile';
          req.actor = await requireActor(ctx, req);
        },
      },
      async (req, reply) => {
        const { fileId } = req.params;
        if (!UPLOAD_ID.test(fileId)) throw new AppError('not_found', `File "${fileId}" was not found`);
        const file = await fileForDownload(ctx, req.actor!, fileId);
        const disposition = contentDisposition(file.name);
        const type = file.mime_type ?? 'application/octet-stream';
        const blob = await ctx.blobs.locate(file.id, { contentDisposition: disposition, contentType: type });
        if (blob.kind === 'redirect') {
          // The bucket serves the bytes (and Range) under a URL that expires in minutes; the
          // answer itself must not be cached past it. The bucket is another origin, so the
          // sandboxing of this origin's pages is not at stake there.
          reply.header('cache-control', 'private, no-store');
          reply.header('referrer-policy', 'no-referrer');
          return reply.redirect(blob.url, 302);
        }
        // Never rendered as a page of this origin: a download, sandboxed, its type not sniffed.
        reply.header('content-disposition', disposition);
        reply.header('content-security-policy', "sandbox; default-src 'none'");
        reply.header('x-content-type-options', 'nosniff');
        // A file id never names other bytes: caches may keep it (per user, as it needs a token).
        reply.header('cache-control', 'private, max-age=31536000, immutable');
        reply.type(type);
        return reply.sendFile(blob.file, blob.root, SEND_OPTIONS);
      },
    );
  });
}
