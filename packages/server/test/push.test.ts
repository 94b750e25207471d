import { createECDH, createPublicKey, randomBytes, verify, type ECDH } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { ParleyError } from '@parley/sdk';
import { E2eeDevice } from '@parley/sdk/e2ee';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { realtimeFor } from './_realtime.ts';

// web-push encrypts with http_ece (its own dependency): the test decrypts with the same package.
const ece = createRequire(import.meta.url)('http_ece') as {
  decrypt(body: Buffer, params: { version: 'aes128gcm'; privateKey: ECDH; authSecret: string }): Buffer;
};

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A push service on 127.0.0.1: records every POST and answers with the status set for its path (201 by default). */
async function fakePushService() {
  const received: Received[] = [];
  const status = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(status.get(req.url!) ?? 201).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, received, status, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A browser's subscription: a P-256 key pair and 16 random auth bytes, at a path of the fake service. */
function newSubscription(origin: string, name: string) {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16).toString('base64url');
  const path = `/push/${name}-${randomBytes(4).toString('hex')}`;
  return { ecdh, auth, path, input: { endpoint: origin + path, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth } } };
}

/** Checks the VAPID header (RFC 8292): an ES256 JWT by the server's key, for the endpoint's origin. */
function checkVapid(authorization: string, serverKey: string, origin: string): void {
  const m = /^vapid t=([^,]+), k=(.+)$/.exec(authorization);
  expect(m, authorization).not.toBeNull();
  const [, jwt, k] = m!;
  expect(k).toBe(serverKey);
  const [head, claims, sig] = jwt!.split('.');
  expect(JSON.parse(Buffer.from(head!, 'base64url').toString())).toMatchObject({ typ: 'JWT', alg: 'ES256' });
  const point = Buffer.from(serverKey, 'base64url');
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
    format: 'jwk',
  });
  expect(verify('sha256', Buffer.from(`${head}.${claims}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig!, 'base64url'))).toBe(true);
  const payload = JSON.parse(Buffer.from(claims!, 'base64url').toString()) as { aud: string; exp: number; sub: string };
  expect(payload.aud).toBe(origin);
  expect(payload.exp * 1000).toBeGreaterThan(Date.now());
  expect(payload.sub).toMatch(/^mailto:/);
}

describe.each(await stores())('web push on %s', (kind) => {
  let t: TestServer;
  let push: Awaited<ReturnType<typeof fakePushService>>;
  let serverKey: string;

  beforeAll(async () => {
    push = await fakePushService();
    t = await startTestServer(kind, { PARLEY_PUSH_ALLOW_LOOPBACK_HTTP: 'true', PARLEY_MESSAGE_RATE: '1000/1s' });
  });
  afterAll(async () => {
    await t?.close();
    await push?.close();
  });

  /** Sends and waits until the server's push work for it is done. */
  async function sendAndSettle(from: TestUser, chatId: string, text: string): Promise<void> {
    await from.client.sendMessage({ chatId, text, clientMessageId: randomBytes(8).toString('hex') });
    await t.server.ctx.push.idle();
  }

  const at = (path: string) => push.received.filter((r) => r.path === path);
  const rows = (sessionId: string) => t.server.ctx.db.kysely.selectFrom('push_subscriptions').selectAll().where('session_id', '=', sessionId).execute();

  it('sends a new message to a subscriber with no socket open: VAPID-signed for the endpoint, decryptable with its key', async () => {
    const [ann, bob] = await t.users('ann1', 'bob1');
    serverKey = (await bob.client.getPushConfig()).publicKey;
    expect(Buffer.from(serverKey, 'base64url')).toHaveLength(65);
    const sub = newSubscription(push.origin, 'bob1');
    await bob.client.subscribePush(sub.input);
    const chat = await ann.client.createPrivateChat({ userId: bob.id });
    await sendAndSettle(ann, chat.id, 'Lunch at noon?');

    const [req, ...more] = at(sub.path);
    expect(more).toHaveLength(0);
    expect(req!.headers['content-encoding']).toBe('aes128gcm');
    expect(Number(req!.headers.ttl)).toBeGreaterThan(0);
    checkVapid(String(req!.headers.authorization), serverKey, push.origin);
    const payload = JSON.parse(ece.decrypt(req!.body, { version: 'aes128gcm', privateKey: sub.ecdh, authSecret: sub.auth }).toString());
    expect(payload).toEqual({ chatId: chat.id, title: 'Ann1', body: 'Lunch at noon?' });
    // The key is made once and kept in the store, for every node and restart.
    expect((await ann.client.getPushConfig()).publicKey).toBe(serverKey);
    const kept = await t.server.ctx.db.kysely.selectFrom('push_keys').selectAll().execute();
    expect(kept.map((k) => k.public_key)).toEqual([serverKey]);
  });

  it("pushes nothing for a muted chat, a channel, the sender's own sessions, or a user with a socket open", async () => {
    const [ann, bob, cat] = await t.users('ann2', 'bob2', 'cat2');
    const bobSub = newSubscription(push.origin, 'bob2');
    const annSub = newSubscription(push.origin, 'ann2');
    const catSub = newSubscription(push.origin, 'cat2');
    await bob.client.subscribePush(bobSub.input);
    await ann.client.subscribePush(annSub.input);
    await cat.client.subscribePush(catSub.input);

    const muted = await ann.client.createPrivateChat({ userId: bob.id });
    await bob.client.updateChat({ chatId: muted.id, muted: true });
    await sendAndSettle(ann, muted.id, 'muted');
    const channel = await ann.client.createChannel({ title: 'News', memberIds: [bob.id] });
    await sendAndSettle(ann, channel.id, 'channel post');
    expect(at(bobSub.path)).toHaveLength(0);
    expect(at(annSub.path)).toHaveLength(0);

    // Cat has a socket open: her client notifies her itself.
    const catChat = await ann.client.createPrivateChat({ userId: cat.id });
    const live = realtimeFor(cat);
    await live.rt.connect();
    await sendAndSettle(ann, catChat.id, 'you are here');
    expect(at(catSub.path)).toHaveLength(0);
    live.rt.close();

    // Unmuted, the same chat pushes again.
    await bob.client.updateChat({ chatId: muted.id, muted: false });
    await sendAndSettle(ann, muted.id, 'unmuted');
    expect(at(bobSub.path)).toHaveLength(1);
    expect(at(annSub.path)).toHaveLength(0);
  });

  it('says only "New message" for an end-to-end encrypted message, never its text', async () => {
    const [ann, bob] = await t.users('ann7', 'bob7');
    const a1 = await E2eeDevice.setUp(ann.client);
    const b1 = await E2eeDevice.setUp(bob.client);
    const chat = await ann.client.createPrivateChat({ userId: bob.id });
    await a1.chat(chat.id).start();
    await b1.sync();
    const sub = newSubscription(push.origin, 'bob7');
    await bob.client.subscribePush(sub.input);
    const secret = `secret-${randomBytes(6).toString('hex')}`;
    await a1.chat(chat.id).send(secret);
    await t.server.ctx.push.idle();
    const [req, ...more] = at(sub.path);
    expect(more).toHaveLength(0);
    const clear = ece.decrypt(req!.body, { version: 'aes128gcm', privateKey: sub.ecdh, authSecret: sub.auth }).toString();
    expect(JSON.parse(clear)).toEqual({ chatId: chat.id, title: 'Ann7', body: 'New message' });
    expect(clear).not.toContain(secret);
  });

  it('deletes a subscription the push service answers 410 for', async () => {
    const [ann, bob] = await t.users('ann3', 'bob3');
    const sub = newSubscription(push.origin, 'bob3');
    await bob.client.subscribePush(sub.input);
    push.status.set(sub.path, 410);
    const chat = await ann.client.createPrivateChat({ userId: bob.id });
    await sendAndSettle(ann, chat.id, 'first');
    expect(at(sub.path)).toHaveLength(1);
    expect(await rows(bob.session.sessionId)).toHaveLength(0);
    await sendAndSettle(ann, chat.id, 'second');
    expect(at(sub.path)).toHaveLength(1);
  });

  it("removes a session's subscriptions when it logs out or is terminated, and on unsubscribe", async () => {
    const [bob] = await t.users('bob4');
    const phone = t.client();
    const phoneSession = await phone.login({ username: 'bob4', password: bob.password, deviceName: 'phone' });
    await bob.client.subscribePush(newSubscription(push.origin, 'bob4').input);
    const phoneSub = newSubscription(push.origin, 'bob4-phone');
    await phone.subscribePush(phoneSub.input);
    expect(await rows(phoneSession.sessionId)).toHaveLength(1);
    await phone.unsubscribePush({ endpoint: phoneSub.input.endpoint });
    expect(await rows(phoneSession.sessionId)).toHaveLength(0);
    await phone.subscribePush(phoneSub.input);

    await bob.client.terminateSession({ sessionId: phoneSession.sessionId });
    expect(await rows(phoneSession.sessionId)).toHaveLength(0);
    const laptopSession = bob.session.sessionId;
    expect(await rows(laptopSession)).toHaveLength(1);
    await bob.client.logout();
    expect(await rows(laptopSession)).toHaveLength(0);
  });

  it('refuses endpoints that are not https (but the test loopback), bad keys, and keeps a few per session', async () => {
    const [bob] = await t.users('bob5');
    const sub = newSubscription(push.origin, 'bob5');
    const refused = async (input: unknown) => {
      const err = await bob.client.subscribePush(input as typeof sub.input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ParleyError);
      expect((err as ParleyError).status).toBe(400);
      expect((err as ParleyError).code).toBe('invalid_request');
    };
    await refused({ ...sub.input, endpoint: 'http://push.example.com/x' });
    await refused({ ...sub.input, endpoint: 'ftp://127.0.0.1/x' });
    await refused({ ...sub.input, endpoint: 'not a url' });
    await refused({ ...sub.input, endpoint: 'https://user:pw@push.example.com/x' });
    await refused({ ...sub.input, keys: { ...sub.input.keys, auth: 'short' } });
    await refused({ ...sub.input, keys: { p256dh: sub.input.keys.p256dh } });
    expect(await rows(bob.session.sessionId)).toHaveLength(0);

    for (let i = 0; i < 7; i++) await bob.client.subscribePush({ ...sub.input, endpoint: `https://push.example.com/${i}` });
    const kept = (await rows(bob.session.sessionId)).map((r) => r.endpoint).sort();
    expect(kept).toEqual([2, 3, 4, 5, 6].map((i) => `https://push.example.com/${i}`));
  });
});

describe('web push with configured VAPID keys', () => {
  it('uses PARLEY_VAPID_* and never shows the private key in the config', async () => {
    const keys = webpush.generateVAPIDKeys();
    const t = await startTestServer('sqlite', { PARLEY_VAPID_PUBLIC_KEY: keys.publicKey, PARLEY_VAPID_PRIVATE_KEY: keys.privateKey });
    try {
      const [ann] = await t.users('ann6');
      expect((await ann.client.getPushConfig()).publicKey).toBe(keys.publicKey);
      expect(await t.server.ctx.db.kysely.selectFrom('push_keys').selectAll().execute()).toEqual([]);
      expect(JSON.stringify(t.server.ctx.config)).not.toContain(keys.privateKey);
    } finally {
      await t.close();
    }
  });
});
