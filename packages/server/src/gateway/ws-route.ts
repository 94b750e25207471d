import type { FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import { WS_PATH, WS_PROTOCOL } from '@parley/protocol';
import type { AppContext } from '../modules/app-context.ts';
import { bearerToken, deviceOf, subprotocolToken } from '../lib/credentials.ts';
import { AppError } from '../lib/errors.ts';
import { authenticate } from '../modules/sessions/authenticate.ts';
import type { Gateway } from './gateway.ts';

const MAX_FRAME_BYTES = 64 * 1024;

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
      // Authentication happens on the upgrade request: a refused client never gets a socket. The
      // token comes in the Authorization header (Node) or as a subprotocol (browsers), never in the URL.
      preValidation: async (req) => {
        req.operationId = 'websocket';
        const token = bearerToken(req) ?? subprotocolToken(req);
        if (!token) throw new AppError('unauthorized', 'Send the access token in the Authorization header or as the parley.token.<token> subprotocol');
        req.actor = await authenticate(ctx, token, deviceOf(req));
      },
    },
    (socket, req) => gateway.attach(socket, req.actor!),
  );
}
