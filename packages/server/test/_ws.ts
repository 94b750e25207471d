import WebSocket from 'ws';
import { WS_PATH, WS_PROTOCOL } from '@parley/sdk';
import type { TestServer, TestUser } from './_harness.ts';

/** A raw socket speaking the frame protocol, recording every frame the server sends. */
export interface RawSocket {
  ws: WebSocket;
  frames: any[];
  /** Sends a frame as it is (no id added). */
  send(frame: object): void;
  /** Sends a request with a fresh id and resolves with the reply that echoes it (ack, changes, error, pong). */
  request(frame: { type: string; [k: string]: unknown }, timeoutMs?: number): Promise<any>;
  /** Resolves with the first recorded frame, from `from` on, that matches. */
  waitFor(match: (f: any) => boolean, timeoutMs?: number, what?: string): Promise<any>;
  /** Resolves with the close code. */
  closed: Promise<number>;
  close(): void;
}

let seq = 0;

/** Opens a socket for a user (token in the Authorization header) and resolves after the hello frame. */
export async function rawSocket(t: Pick<TestServer, 'url'>, user: { client: TestUser['client'] }): Promise<RawSocket> {
  const token = user.client.session!.accessToken;
  const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}${WS_PATH}`, [WS_PROTOCOL], { headers: { authorization: `Bearer ${token}` } });
  const frames: any[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    frames.push(JSON.parse(data.toString()));
    for (const w of [...waiters]) w();
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('error', () => {});

  function waitFor(match: (f: any) => boolean, timeoutMs = 5000, what = 'a frame'): Promise<any> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = frames.find(match);
        if (found === undefined) return false;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`Timed out waiting for ${what}; frames: ${JSON.stringify(frames).slice(0, 2000)}`));
      }, timeoutMs);
      if (!check()) waiters.add(check);
    });
  }

  const socket: RawSocket = {
    ws,
    frames,
    send: (frame) => ws.send(JSON.stringify(frame)),
    request(frame, timeoutMs = 5000) {
      const id = `r${++seq}`;
      ws.send(JSON.stringify({ ...frame, id }));
      return waitFor((f) => f.id === id && f.type !== 'event', timeoutMs, `the reply to ${frame.type} ${id}`);
    },
    waitFor,
    closed,
    close: () => ws.close(1000),
  };
  await waitFor((f) => f.type === 'hello', 5000, 'hello');
  return socket;
}

/** The live chat events of a chat recorded on a raw socket. */
export function chatEvents(s: RawSocket, chatId: string): any[] {
  return s.frames.filter((f) => f.type === 'event' && f.event.log === 'chat' && f.event.chatId === chatId).map((f) => f.event);
}

/** Lets frames already in flight arrive, to check that something did NOT come. */
export function settle(ms = 300): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
