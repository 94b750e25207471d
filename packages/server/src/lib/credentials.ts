import { isIP } from 'node:net';
import { WS_TOKEN_PREFIX } from '@parley/protocol';

/** What the HTTP API and the gateway read credentials from: the part of a request both have. */
export interface RequestLike {
  /** The client's address: from X-Forwarded-For when the sender is a trusted proxy, else the socket's. */
  ip: string;
  socket?: { remoteAddress?: string };
  headers: Record<string, string | string[] | undefined>;
}

/** The device a request comes from, as a session records it. */
export interface DeviceInfo {
  ip: string;
  userAgent: string;
}

const TOKEN = /^[A-Za-z0-9_-]{10,200}$/;

/** The token of an `Authorization: Bearer <token>` header, if it is well formed. */
export function bearerToken(req: RequestLike): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer (.+)$/.exec(header);
  return m && TOKEN.test(m[1]!) ? m[1] : undefined;
}

/** The token a browser offers as the `parley.token.<token>` WebSocket subprotocol. */
export function subprotocolToken(req: RequestLike): string | undefined {
  const offered = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim());
  const token = offered.find((p) => p.startsWith(WS_TOKEN_PREFIX))?.slice(WS_TOKEN_PREFIX.length);
  return token && TOKEN.test(token) ? token : undefined;
}

/**
 * The device a request comes from. A forwarded address that is not an IP address (a proxy passing on
 * whatever a client wrote) is not believed: the socket's own address is recorded instead.
 */
export function deviceOf(req: RequestLike): DeviceInfo {
  const ip = isIP(req.ip) ? req.ip : (req.socket?.remoteAddress ?? '');
  return { ip, userAgent: String(req.headers['user-agent'] ?? '').slice(0, 512) };
}
