import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Page } from 'playwright-core';
import { ParleyRealtime, type WebSocketFactory } from '@parley/sdk';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, openBrowser, screenshot, type Browser } from './_browser.ts';
import { openChat, signIn } from './_ux.ts';

const enabled = browserAvailable();

// A fake microphone (Chromium's beep), no permission prompt, remote audio that plays without a
// click, and host candidates on 127.0.0.1 as they are (no mDNS names): loopback only, no TURN.
const CALL_ARGS = [
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];
const RING_SECONDS = 6;

/** The page's RTCPeerConnections, kept by the test (the app exposes none) for getStats. */
function recordPeerConnections(): void {
  const Native = window.RTCPeerConnection;
  const all: RTCPeerConnection[] = [];
  (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs = all;
  window.RTCPeerConnection = class extends Native {
    constructor(config?: RTCConfiguration) {
      super(config);
      all.push(this);
    }
  };
}

interface AudioStats {
  state: string;
  at: number;
  packets: number;
  energy: number;
  sent: number;
}

/** From getStats of the page's newest connection: inbound audio packets and energy, outbound packets. */
function audioStats(page: Page): Promise<AudioStats> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
    const pc = pcs[pcs.length - 1]!;
    const out = { state: pc.connectionState, at: 0, packets: 0, energy: 0, sent: 0 };
    (await pc.getStats()).forEach((s: Record<string, unknown>) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        out.at = s.timestamp as number;
        out.packets += (s.packetsReceived as number) ?? 0;
        out.energy += (s.totalAudioEnergy as number) ?? 0;
      }
      if (s.type === 'outbound-rtp' && s.kind === 'audio') out.sent += (s.packetsSent as number) ?? 0;
    });
    return out;
  });
}

/** The ICE username fragment of the page's current local description: it changes with an ICE restart. */
function iceUfrag(page: Page): Promise<string | undefined> {
  return page.evaluate(() => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
    return /a=ice-ufrag:(\S+)/.exec(pcs[pcs.length - 1]!.localDescription?.sdp ?? '')?.[1];
  });
}

async function sample(page: Page, ms: number): Promise<{ rate: number; energyGain: number }> {
  const a = await audioStats(page);
  await new Promise((r) => setTimeout(r, ms));
  const b = await audioStats(page);
  return { rate: ((b.packets - a.packets) * 1000) / (b.at - a.at), energyGain: b.energy - a.energy };
}

const panel = (page: Page) => page.locator('.call-panel');

describe.skipIf(!enabled)('1:1 voice calls in Chromium', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let chatId: string;
  let a: Browser;
  let b: Browser;

  beforeAll(async () => {
    t = await startTestServer('sqlite', { PARLEY_CALL_RING_SECONDS: String(RING_SECONDS) });
    [alice, bob] = await t.users('alice', 'bob');
    chatId = (await alice.client.createPrivateChat({ userId: bob.id })).id;
    [a, b] = await Promise.all([
      openBrowser('alice', t.url, { width: 1000, height: 700 }, 'light', CALL_ARGS),
      openBrowser('bob', t.url, { width: 1000, height: 700 }, 'light', CALL_ARGS),
    ]);
    for (const x of [a, b]) {
      await x.context.grantPermissions(['microphone'], { origin: t.url });
      await x.context.addInitScript(recordPeerConnections);
    }
    await Promise.all([signIn(a.page, alice), signIn(b.page, bob)]);
    await openChat(a.page, chatId, 'Bob');
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await t?.close();
  });

  it('calls from the chat header, rings on the other side, carries audio both ways, mutes and hangs up', async () => {
    const call = a.page.getByRole('button', { name: 'Call Bob' });
    await call.click();
    const ring = b.page.getByRole('alertdialog', { name: 'Incoming call' });
    await ring.waitFor();
    expect(await ring.textContent()).toContain('Alice is calling');
    await screenshot(b.page, 'call-incoming');
    await ring.getByRole('button', { name: 'Accept' }).click();

    await eventually(async () => {
      expect((await audioStats(a.page)).state).toBe('connected');
      expect((await audioStats(b.page)).state).toBe('connected');
    }, 10_000);
    await eventually(async () => expect(await panel(a.page).textContent()).toMatch(/Bob · 0:0\d/));
    expect(await call.isDisabled()).toBe(true);
    await screenshot(a.page, 'call-active');

    // Audio flows both ways, decoded (energy grows) because the remote track plays.
    const [toAlice, toBob] = await Promise.all([sample(a.page, 1500), sample(b.page, 1500)]);
    console.log(
      `packets/s to Alice ${toAlice.rate.toFixed(1)}, to Bob ${toBob.rate.toFixed(1)}; energy gain ${toAlice.energyGain.toFixed(4)} / ${toBob.energyGain.toFixed(4)}`,
    );
    expect(toAlice.rate).toBeGreaterThan(30);
    expect(toBob.rate).toBeGreaterThan(30);
    expect(toAlice.energyGain).toBeGreaterThan(0);
    expect(toBob.energyGain).toBeGreaterThan(0);

    // Alice mutes: packets still come (silence), but Bob hears nothing.
    await a.page.getByRole('button', { name: 'Mute' }).click();
    expect(await a.page.getByRole('button', { name: 'Unmute' }).getAttribute('aria-pressed')).toBe('true');
    await new Promise((r) => setTimeout(r, 500));
    const muted = await sample(b.page, 1500);
    console.log(`muted: packets/s to Bob ${muted.rate.toFixed(1)}, energy gain ${muted.energyGain.toFixed(6)}`);
    expect(muted.energyGain).toBeLessThan(toBob.energyGain / 20);
    await a.page.getByRole('button', { name: 'Unmute' }).click();

    // Bob's socket drops and comes back: the call is taken back (call.resume) and ICE restarts
    // (new credentials in both descriptions), the audio still flowing.
    const [ufragA, ufragB] = await Promise.all([iceUfrag(a.page), iceUfrag(b.page)]);
    await b.context.setOffline(true);
    await b.page.getByRole('status').filter({ hasText: 'Offline' }).waitFor();
    await b.context.setOffline(false);
    await eventually(async () => {
      expect(await iceUfrag(b.page)).not.toBe(ufragB);
      expect(await iceUfrag(a.page)).not.toBe(ufragA);
    });
    await eventually(async () => expect((await audioStats(b.page)).state).toBe('connected'));
    expect((await sample(b.page, 1000)).rate).toBeGreaterThan(30);

    await a.page.getByRole('button', { name: 'Hang up' }).click();
    await eventually(async () => expect(await panel(a.page).textContent()).toContain('Call ended'));
    await eventually(async () => expect(await panel(b.page).textContent()).toContain('Call ended'));
    await eventually(async () => expect((await audioStats(b.page)).state).toBe('closed'));

    // The chat keeps the call, from its call.ended event: live on Alice's page, from the history on Bob's.
    await eventually(async () => expect(await a.page.locator('.notice-line').last().textContent()).toMatch(/^Outgoing call · 0:0\d$/));
    await openChat(b.page, chatId, 'Alice');
    await eventually(async () => expect(await b.page.locator('.notice-line').last().textContent()).toMatch(/^Incoming call · 0:0\d$/));
  });

  it('shows a declined call on both sides', async () => {
    await a.page.getByRole('button', { name: 'Call Bob' }).click();
    const ring = b.page.getByRole('alertdialog', { name: 'Incoming call' });
    await ring.getByRole('button', { name: 'Decline' }).click();
    await eventually(async () => expect(await panel(a.page).textContent()).toContain('Declined'));
    expect(await panel(b.page).textContent()).toContain('Declined');
    await eventually(async () => expect(await a.page.locator('.notice-line').last().textContent()).toBe('Declined call'));
    await eventually(async () => expect(await b.page.locator('.notice-line').last().textContent()).toBe('Declined call'));
  });

  it('shows a call nobody answered as missed once it stops ringing', async () => {
    await a.page.getByRole('button', { name: 'Call Bob' }).click();
    await b.page.getByRole('alertdialog', { name: 'Incoming call' }).waitFor();
    await eventually(async () => expect(await panel(a.page).textContent()).toContain('No answer'), (RING_SECONDS + 4) * 1000);
    await eventually(async () => expect(await panel(b.page).textContent()).toContain('Missed call'));
    await eventually(async () => expect(await a.page.locator('.notice-line').last().textContent()).toBe('Unanswered call'));
    await eventually(async () => expect(await b.page.locator('.notice-line').last().textContent()).toBe('Missed call'));
  });

  it('stops ringing when another device answers, and tells the next caller that the line is busy', async () => {
    // Carol calls Bob from the SDK; Bob's second device (the SDK again) takes it while his page rings.
    const carol = await t.user('carol');
    const carolChat = await carol.client.createPrivateChat({ userId: bob.id });
    const carolRt = new ParleyRealtime(carol.client, { WebSocket: WebSocket as unknown as WebSocketFactory });
    const bobRt = new ParleyRealtime(bob.client, { WebSocket: WebSocket as unknown as WebSocketFactory });
    try {
      await Promise.all([carolRt.connect(), bobRt.connect()]);
      const offer = { type: 'offer' as const, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=carol\r\n' };
      const placed = await carolRt.inviteCall({ chatId: carolChat.id, offer });
      const ring = b.page.getByRole('alertdialog', { name: 'Incoming call' });
      await eventually(async () => expect(await ring.textContent()).toContain('Carol is calling'));
      await bobRt.acceptCall(placed.callId, { type: 'answer', sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=bob\r\n' });
      await eventually(async () => expect(await panel(b.page).textContent()).toContain('Answered on another device'));

      await a.page.getByRole('button', { name: 'Call Bob' }).click();
      await eventually(async () => expect(await panel(a.page).textContent()).toContain('Busy'));
      await carolRt.hangupCall(placed.callId);

      // Carol calls again and gives up before Bob answers: a missed call for Bob.
      const again = await carolRt.inviteCall({ chatId: carolChat.id, offer });
      await eventually(async () => expect(await ring.textContent()).toContain('Carol is calling'));
      await carolRt.hangupCall(again.callId);
      await eventually(async () => expect(await panel(b.page).textContent()).toContain('Missed call'));
    } finally {
      carolRt.close();
      bobRt.close();
    }
  });
});
