import type { FastifyInstance, FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import { WS_PATH, WS_PROTOCOL, WS_TOKEN_PREFIX } from '@parley/protocol';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { authenticate } from '../modules/sessions/sessions.ts';
import { bearerToken, deviceOf } from '../http/app.ts';
import type { Gateway } from './gateway.ts';

const MAX_FRAME_BYTES = 64 * 1024;

/** The token comes in the Authorization header (Node) or as a subprotocol (browsers), never in the URL. */
function socketToken(req: FastifyRequest): string | undefined {
  const bearer = bearerToken(req);
  if (bearer) return bearer;
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const token = offered.find((p) => p.startsWith(WS_TOKEN_PREFIX))?.slice(WS_TOKEN_PREFIX.length);
  return token && /^[A-Za-z0-9_-]{10,200}$/.test(token) ? token : undefined;
}

export async function wsRoute(app: FastifyInstance, ctx: AppContext, gateway: Gateway): Promise<void> {
  await app.register(websocket, {
    options: {
      maxPayload: MAX_FRAME_BYTES,
      // Only ever agree to the protocol name: the token offered beside it is never echoed.
      handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
    },
    preClose(done) {
      gateway.closeAll();
      done();
    },
  });
  app.get(
    WS_PATH,
    {
      websocket: true,
      // Authentication happens on the upgrade request: a refused client never gets a socket.
      preValidation: async (req) => {
        req.operationId = 'websocket';
        const token = socketToken(req);
        if (!token) throw new AppError('unauthorized', 'Send the access token in the Authorization header or as the parley.token.<token> subprotocol');
        req.actor = await authenticate(ctx, token, deviceOf(req));
      },
    },
    (socket, req) => gateway.attach(socket, req.actor!),
  );
}
