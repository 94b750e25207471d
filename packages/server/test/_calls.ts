import { createHmac } from 'node:crypto';
import WebSocket from 'ws';
import { ParleyClient, ParleyRealtime, type CallNotice, type ChatEvent, type WebSocketFactory } from '@parley/sdk';
import { eventually } from './_realtime.ts';

/** Every frame text any test socket received, to check what never reaches a client. */
export const wire: string[] = [];

/** The `ws` client, recording what it receives. */
class RecordingWebSocket extends WebSocket {
  constructor(url: string, protocols: string[]) {
    super(url, protocols);
    this.on('message', (data) => wire.push(String(data)));
  }
}

/** One device of a user: its own session and realtime client, recording the call frames it gets. */
export interface Device {
  userId: string;
  client: ParleyClient;
  rt: ParleyRealtime;
  sessionId: string;
  calls: CallNotice[];
  events: ChatEvent[];
}

/** Signs a user in on one more device (or uses the client given) and connects it. */
export async function device(baseUrl: string, user: { id: string; username: string; password: string }, name: string, client?: ParleyClient): Promise<Device> {
  if (!client) {
    client = new ParleyClient({ baseUrl, userAgent: 'parley-call-tests' });
    await client.login({ username: user.username, password: user.password, deviceName: name });
  }
  const rt = new ParleyRealtime(client, { WebSocket: RecordingWebSocket as unknown as WebSocketFactory, minBackoffMs: 50, maxBackoffMs: 400 });
  const d: Device = { userId: user.id, client, rt, sessionId: '', calls: [], events: [] };
  rt.on('call', (f) => d.calls.push(f));
  rt.on('event', (e) => {
    if (e.log === 'chat') d.events.push(e);
  });
  await rt.connect();
  d.sessionId = rt.sessionId!;
  return d;
}

export const OFFER = { type: 'offer' as const, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=caller\r\n' };
export const ANSWER = { type: 'answer' as const, sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=callee\r\n' };

/** Waits for the first call frame on a device that matches, and returns it. */
export async function callFrame<T extends CallNotice['type']>(
  d: Device,
  type: T,
  match: (f: Extract<CallNotice, { type: T }>) => boolean = () => true,
  timeoutMs = 5000,
): Promise<Extract<CallNotice, { type: T }>> {
  let found: Extract<CallNotice, { type: T }> | undefined;
  await eventually(
    () => {
      found = d.calls.find((f): f is Extract<CallNotice, { type: T }> => f.type === type && match(f as Extract<CallNotice, { type: T }>));
      return found !== undefined;
    },
    timeoutMs,
    `${type} on a device of ${d.userId}`,
  );
  return found!;
}

/** The call.ended events a device applied for a call. */
export function callEvents(d: Device, callId: string): ChatEvent[] {
  return d.events.filter((e) => e.type === 'call.ended' && e.call?.callId === callId);
}

/** The error code a promise fails with. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** Checks TURN REST credentials as coturn does: the HMAC of the username with the shared secret. */
export function turnCredentialHolds(server: { username?: string; credential?: string }, secret: string): boolean {
  if (!server.username || !server.credential) return false;
  return createHmac('sha1', secret).update(server.username).digest('base64') === server.credential;
}
