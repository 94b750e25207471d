import WebSocket from 'ws';
import { ParleyRealtime, type SyncEvent, type WebSocketFactory } from '@parley/sdk';
import type { TestUser } from './_harness.ts';

/** A realtime client for a test user, recording every event it applies. */
export function realtimeFor(user: TestUser) {
  const rt = new ParleyRealtime(user.client, { WebSocket: WebSocket as unknown as WebSocketFactory, minBackoffMs: 50, maxBackoffMs: 500 });
  const events: SyncEvent[] = [];
  rt.on('event', (e) => events.push(e));
  return { rt, events };
}

/** Polls until check() passes or the time is up. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`Timed out waiting for ${what}`);
}
