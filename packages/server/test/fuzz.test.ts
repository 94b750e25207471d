// Property-based fuzzing of every HTTP operation and every client frame with bad and edge input.
// Whatever comes in: no 5xx, every 4xx in the one error shape, every error frame in its shape with the
// socket still open, and the data of chats the fuzzing user is not in stays as it was.
// A failure prints fast-check's seed and shrunk counterexample; re-run with that seed to reproduce.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { api, ClientFrameBodies, ErrorBody, ServerFrame, type Endpoint } from '@parley/protocol';
import { createValidator } from '../src/lib/validator.ts';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { rawSocket, type RawSocket } from './_ws.ts';
import { CONTENT_TYPES, fuzzBody, fuzzObject, fuzzQuery, fuzzSegment, labelled, short, validQuery, validValue, type Pools, type Schema } from './_fuzz.ts';

const SEED = 20261203;
const HTTP_RUNS = 50;
const FRAME_RUNS = 40;

/** Every limit raised so that the fuzz reaches the handlers instead of a 429. */
const UNLIMITED = {
  PARLEY_MESSAGE_RATE: '1000000/1s',
  PARLEY_READ_RATE: '1000000/1s',
  PARLEY_WRITE_RATE: '1000000/1s',
  PARLEY_LOGIN_LIMIT: '1000000/1s',
  PARLEY_FAILED_LOGIN_LIMIT: '1000000/1s',
  PARLEY_REGISTER_LIMIT: '1000000/1s',
  PARLEY_PASSWORD_CHECK_LIMIT: '1000000/1s',
  PARLEY_INVITES_PER_DAY: '100000',
  PARLEY_MAX_SESSIONS: '1000',
};

/** Operations after which the fuzzing user's own session may have ended. */
const SESSION_ENDING = new Set(['logout', 'login', 'refreshSession', 'terminateSession', 'terminateOtherSessions', 'changePassword', 'deleteAccount']);

interface Sent {
  method: string;
  path: string;
  query: string;
  auth: 'valid' | 'none' | 'garbage' | 'basic' | 'empty';
  contentType: string;
  body: string | null;
}

interface Snapshot {
  chats: unknown[];
  messages: Record<string, unknown>;
  members: Record<string, unknown>;
  sessions: unknown[];
  invites: unknown[];
  me: unknown;
}

const compile = createValidator({ coerceTypes: false, useDefaults: false });
const serverFrame = compile(ServerFrame);
const errorBody = compile(ErrorBody);

/** Expects a value to match a protocol schema, naming the first mismatch. */
function expectSchema(validate: ReturnType<typeof compile>, value: unknown, where: string): void {
  if (!validate(value)) expect.fail(`${where}: ${JSON.stringify(validate.errors?.[0])}`);
}

/** Expects the one error shape: `{ error: { code, message } }`, both strings, nothing else. */
function expectErrorShape(body: unknown, where: string): void {
  expect(body, where).toBeTypeOf('object');
  const b = body as { error?: { code?: unknown; message?: unknown } };
  expect(Object.keys(b ?? {}), where).toEqual(['error']);
  expect(Object.keys(b.error ?? {}).sort(), where).toEqual(['code', 'message']);
  expect(typeof b.error!.code, where).toBe('string');
  expect(typeof b.error!.message, where).toBe('string');
}

describe.each(await stores())('fuzz on %s', (kind) => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let mallory: TestUser;
  let token: string;
  let pools: Pools;
  let before: Snapshot;
  const seeded: string[] = [];

  async function login(user: TestUser, device: string): Promise<{ accessToken: string; refreshToken: string; sessionId: string }> {
    const res = await fetch(`${t.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: user.username, password: user.password, deviceName: device }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { accessToken: string; refreshToken: string; sessionId: string };
  }

  /** Signs the fuzzing user in again when an operation ended its session. */
  async function keepSignedIn(): Promise<void> {
    const res = await fetch(`${t.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    if (res.status === 401) token = (await login(mallory, 'fuzz')).accessToken;
  }

  /** Everything of alice's that mallory, who is in none of her seeded chats, must not be able to change. */
  async function snapshot(): Promise<Snapshot> {
    const c = alice.client;
    const chats = (await c.listChats()).chats.filter((chat) => seeded.includes(chat.id));
    const messages: Record<string, unknown> = {};
    const members: Record<string, unknown> = {};
    for (const id of seeded) {
      messages[id] = (await c.listMessages({ chatId: id, limit: 100 })).messages;
      members[id] = (await c.listMembers({ chatId: id })).members;
    }
    const sessions = (await c.listSessions()).sessions.map(({ lastActiveAt: _, ...s }) => s);
    return { chats, messages, members, sessions, invites: (await c.listInvites()).invites, me: await c.getMe() };
  }

  beforeAll(async () => {
    t = await startTestServer(kind, UNLIMITED);
    [alice, bob, carol, mallory] = await t.users('alice', 'bob', 'carol', 'mallory');
    token = mallory.session.accessToken;

    // alice's world, which mallory is not part of.
    const group = await alice.client.createGroup({ title: 'Seeded group', memberIds: [bob.id] });
    const channel = await alice.client.createChannel({ title: 'Seeded channel', memberIds: [bob.id] });
    const dm = await alice.client.createPrivateChat({ userId: bob.id });
    const self = (await alice.client.listChats()).chats.find((c) => c.kind === 'self')!;
    seeded.push(group.id, channel.id, dm.id, self.id);
    const aliceMessages: string[] = [];
    for (const [i, chatId] of seeded.entries()) {
      for (let n = 0; n < 3; n++) {
        const m = await alice.client.sendMessage({ chatId, text: `seeded ${i}.${n} ✓`, clientMessageId: `seed-${i}-${n}` });
        aliceMessages.push(m.id);
      }
    }
    await bob.client.sendMessage({ chatId: group.id, text: 'bob was here', clientMessageId: 'bob-1' });
    await bob.client.markRead({ chatId: group.id, seq: 2 });
    const aliceInvite = await alice.client.createInvite({ maxUses: 3 });

    // mallory's own chats, where valid input does real work.
    const mGroup = await mallory.client.createGroup({ title: 'Mallory group', memberIds: [carol.id] });
    const mGroup2 = await mallory.client.createGroup({ title: 'Mallory spare group', memberIds: [carol.id] });
    const mChannel = await mallory.client.createChannel({ title: 'Mallory channel', memberIds: [carol.id] });
    const mSelf = (await mallory.client.listChats()).chats.find((c) => c.kind === 'self')!;
    const malloryMessages: string[] = [];
    for (const chatId of [mGroup.id, mGroup2.id, mChannel.id, mSelf.id]) {
      const m = await mallory.client.sendMessage({ chatId, text: 'mine', clientMessageId: 'm-1' });
      malloryMessages.push(m.id);
    }
    const carolMessage = await carol.client.sendMessage({ chatId: mGroup.id, text: 'carol', clientMessageId: 'c-1' });
    const mInvite = await mallory.client.createInvite({});
    const spares = await Promise.all([1, 2, 3].map((n) => login(mallory, `spare-${n}`)));
    const inviteCode = await t.invite({ uses: 1000 });

    pools = {
      // mallory's own chats and messages come up twice as often as alice's, which she cannot reach.
      chatId: [...[mGroup.id, mGroup2.id, mChannel.id, mSelf.id].flatMap((id) => [id, id]), ...seeded],
      messageId: [...aliceMessages.slice(0, 3), ...[...malloryMessages, carolMessage.id].flatMap((id) => [id, id])],
      replyToId: [...aliceMessages.slice(0, 2), ...malloryMessages],
      userId: [alice.id, bob.id, carol.id, mallory.id],
      userIds: [carol.id, bob.id, alice.id, mallory.id],
      memberIds: [carol.id, bob.id, alice.id],
      sessionId: [mallory.session.sessionId, ...spares.map((s) => s.sessionId), alice.session.sessionId],
      inviteId: [mInvite.id, aliceInvite.id],
      username: ['alice', 'mallory', 'ALICE', 'nobody_here'],
      password: ['wrong password', mallory.password],
      currentPassword: ['wrong password'],
      refreshToken: [...spares.map((s) => s.refreshToken), alice.session.refreshToken.slice(0, -1)],
      inviteCode: [inviteCode, 'no-such-invite'],
      role: ['admin', 'member'],
      text: ['hello', 'e\u0301', '😀', 'x'.repeat(4096)],
      clientMessageId: ['m-1', 'fuzz-1', 'seed-0-0'],
      seq: ['0', '1', '2', '5'],
    };
    before = await snapshot();
  });
  afterAll(async () => t?.close());

  /** Sends one generated request and checks what comes back. */
  async function send(e: Endpoint, r: Sent): Promise<void> {
    const headers: Record<string, string> = {};
    if (r.auth === 'valid') headers.authorization = `Bearer ${token}`;
    else if (r.auth === 'garbage') headers.authorization = `Bearer ${'x'.repeat(40)}`;
    else if (r.auth === 'basic') headers.authorization = 'Basic YWxpY2U6cHc=';
    else if (r.auth === 'empty') headers.authorization = 'Bearer ';
    if (r.body !== null && r.contentType !== '') headers['content-type'] = r.contentType;
    const url = `${t.url}/api/v1${r.path}${r.query ? `?${r.query}` : ''}`;
    const res = await fetch(url, { method: r.method, headers, body: r.body ?? undefined });
    const text = await res.text();
    const where = `${e.id}: ${r.method} ${short(url, 200)} answered ${res.status} ${short(text, 300)}`;
    expect(res.status, where).toBeLessThan(500);
    if (res.status >= 400) {
      expect(res.headers.get('content-type'), where).toMatch(/^application\/json/);
      let body: unknown;
      expect(() => (body = JSON.parse(text)), where).not.toThrow();
      expectErrorShape(body, where);
      expectSchema(errorBody, body, where);
    } else if (e.produces && res.status === 200) {
      // A file (a data export) comes as the media type the operation names.
      expect(res.headers.get('content-type'), where).toBe(e.produces);
    } else if (res.status !== 204) {
      // What a 2xx carries is what the operation documents.
      let body: unknown;
      expect(() => (body = JSON.parse(text)), where).not.toThrow();
      // (Unless fetch resolved a "." or ".." segment, or an empty one made it another route's path.)
      const elsewhere = e.method !== r.method || /(^|\/)\.{0,2}(\/|$)/.test(r.path.slice(1));
      if (e.response && !elsewhere) expectSchema(compile(e.response), body, where);
    }
    if (SESSION_ENDING.has(e.id) || res.status === 401) await keepSignedIn();
  }

  /** A request for an endpoint: its own method and path, each part valid, odd or broken. */
  function request(e: Endpoint): fc.Arbitrary<Sent> {
    // mallory's own password goes to login only: deleteAccount with it would end the fuzz.
    // For login, her own name and password come first (fast-check favours the first), so odd device names reach the insert.
    const own: Pools =
      e.id === 'login'
        ? { ...pools, username: ['mallory', ...pools.username!], password: [mallory.password, 'wrong password'] }
        : { ...pools, password: ['wrong password'] };
    const segments = (real: boolean) =>
      fc
        .tuple(
          ...e.path.split('/').map((seg) => {
            const name = seg.slice(1);
            if (!seg.startsWith(':')) return fc.constant(seg);
            return real && own[name] ? fc.constantFrom(...own[name]).map(encodeURIComponent) : fuzzSegment(name, own);
          }),
        )
        .map((segs) => segs.join('/'));
    const body = e.body
      ? fuzzBody(e.body as Schema, own)
      : fc.oneof({ arbitrary: fc.constant(null), weight: 6 }, fuzzBody(undefined, own), fc.constant('{"everywhere":true}'));
    // Half the requests are right but for their body or query, so that the handlers see odd values that pass validation.
    const focused = fc.record({
      method: fc.constant(e.method),
      path: segments(true),
      query: fc.oneof({ arbitrary: validQuery(e.query as Schema | undefined, own), weight: 3 }, fuzzQuery(e.query as Schema | undefined, own)),
      auth: fc.constant<Sent['auth']>(e.auth ? 'valid' : 'none'),
      contentType: fc.constant('application/json'),
      body: e.body ? fc.oneof({ arbitrary: validValue(e.body as Schema, 'body', own), weight: 3 }, { arbitrary: body, weight: 2 }) : body,
    });
    const anything = fc.record({
      method: fc.oneof({ arbitrary: fc.constant(e.method), weight: 19 }, { arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'), weight: 1 }),
      path: segments(false),
      query: fuzzQuery(e.query as Schema | undefined, own),
      auth: e.auth
        ? fc.oneof({ arbitrary: fc.constant<Sent['auth']>('valid'), weight: 12 }, fc.constantFrom<Sent['auth']>('none', 'garbage', 'basic', 'empty'))
        : fc.oneof({ arbitrary: fc.constant<Sent['auth']>('none'), weight: 8 }, fc.constantFrom<Sent['auth']>('valid', 'garbage')),
      contentType: fc.oneof({ arbitrary: fc.constant('application/json'), weight: 12 }, fc.constantFrom(...CONTENT_TYPES)),
      body,
    });
    return fc.oneof(focused, anything).map((r) => {
      // fetch sends no body with a GET.
      const sent: Sent = { ...r, body: r.method === 'GET' ? null : r.body };
      return labelled(
        sent,
        `${sent.method} ${short(sent.path, 120)}?${short(sent.query, 120)} auth=${sent.auth} type=${sent.contentType} ${short(sent.body ?? '(no body)')}`,
      );
    });
  }

  describe('every HTTP operation', () => {
    it.each(Object.values(api).map((e, i) => [e.id, e as Endpoint, i] as const))('%s answers bad input with a 4xx in the error shape', async (_id, e, i) => {
      await fc.assert(
        fc.asyncProperty(request(e), (r) => send(e, r)),
        { seed: SEED + i, numRuns: HTTP_RUNS },
      );
    });
  });

  describe('every client frame', () => {
    let s: RawSocket;

    async function reopen(): Promise<void> {
      await keepSignedIn();
      s = await rawSocket(t, { client: { session: { accessToken: token } } as unknown as TestUser['client'] });
    }
    beforeAll(reopen);
    afterAll(() => s?.close());

    interface Frame {
      text: string;
      binary: boolean;
    }

    /** A frame: known or unknown type, an id that is usable, missing or odd, and a body near its schema. */
    function frame(type: string, schema: Schema | undefined): fc.Arbitrary<Frame> {
      const body = schema
        ? fc.oneof({ arbitrary: validValue(schema, type, pools), weight: 2 }, { arbitrary: fuzzObject(schema, pools), weight: 5 })
        : fuzzBody(undefined, pools);
      const id = fc.oneof(
        { arbitrary: fc.nat(1_000_000).map((k) => JSON.stringify(`f${k}`)), weight: 6 },
        fc.constantFrom(undefined, '12', JSON.stringify('i'.repeat(65)), '""', '{"a":1}', 'null'),
      );
      const typeText = fc.oneof(
        { arbitrary: fc.constant(JSON.stringify(type)), weight: 12 },
        fc.constantFrom('1', 'null', '["send"]', '"SEND"', '"__proto__"', '"toString"', '""'),
      );
      return fc.tuple(typeText, id, body).map(([ty, idText, b]) => {
        const fields = `"type":${ty}${idText === undefined ? '' : `,"id":${idText}`}`;
        // The body's fields go beside type and id; a body that is not an object makes the whole frame something else.
        const text = b.startsWith('{') && b.endsWith('}') ? (b === '{}' ? `{${fields}}` : `{${fields},${b.slice(1)}`) : b;
        return labelled<Frame>({ text, binary: false }, short(text));
      });
    }

    const garbage: fc.Arbitrary<Frame> = fc
      .oneof(
        fuzzBody(undefined, pools),
        fc.constantFrom('{"type":"ping","id":"a","id":"b"}', '{"type":"ping","type":"send"}', '{"type":"ping","id":"x","__proto__":{}}', '[]', '"ping"'),
      )
      .chain((text) => fc.boolean().map((binary) => labelled<Frame>({ text, binary }, `${binary ? 'binary ' : ''}${short(text)}`)));

    /** What the server makes of a frame, read the way it reads it: the id its reply echoes, and whether a reply may not come. */
    function expectation(f: Frame): { id?: string; replyOptional: boolean } {
      let parsed: any;
      try {
        parsed = f.binary ? undefined : JSON.parse(f.text);
      } catch {
        return { replyOptional: false };
      }
      // A frame without a string type could not be read at all: its error carries no id.
      const readable = parsed !== null && typeof parsed === 'object' && typeof parsed.type === 'string';
      const usable = readable && typeof parsed.id === 'string' && parsed.id !== '' && parsed.id.length <= 64;
      return { ...(usable ? { id: parsed.id as string } : {}), replyOptional: parsed?.type === 'typing' };
    }

    /** Sends a frame; its reply must be well formed, and the socket must still answer a ping. */
    async function sendFrame(f: Frame): Promise<void> {
      const from = s.frames.length;
      const bytes = Buffer.byteLength(f.text);
      s.ws.send(f.binary ? Buffer.from(f.text) : f.text, { binary: f.binary });
      if (bytes > 64 * 1024) {
        // Past the frame size limit the socket is closed (1009), not answered: open another.
        expect(await s.closed).toBe(1009);
        return reopen();
      }
      const { id, replyOptional } = expectation(f);
      const fresh = (x: any) => s.frames.indexOf(x) >= from && x.type !== 'event' && x.type !== 'presence' && !(x.type === 'typing' && 'userId' in x);
      // A reply without an id is told apart from the pongs to our pings, which all carry one.
      const isReply = id !== undefined ? (x: any) => fresh(x) && x.id === id : (x: any) => fresh(x) && !(x.type === 'pong' && 'id' in x);
      const reply = await s.waitFor(isReply, replyOptional ? 150 : 5000, `the reply to ${short(f.text)}`).catch((err: Error) => {
        if (replyOptional) return undefined; // a valid typing frame is not answered
        throw err;
      });
      if (reply) checkFrame(reply, f);
      const pong = await s.request({ type: 'ping' });
      expect(pong.type, `after ${short(f.text)}`).toBe('pong');
      for (const x of s.frames.slice(from)) checkFrame(x, f);
    }

    function checkFrame(x: any, f: Frame): void {
      const where = `after ${short(f.text)}: ${short(JSON.stringify(x), 500)}`;
      // A request without a usable id is answered without one (the gateway's documented choice); otherwise the protocol's frame schema holds.
      expectSchema(serverFrame, ['ack', 'changes', 'pong'].includes(x.type) && !('id' in x) ? { ...x, id: 'absent' } : x, where);
      if (x.type !== 'error') return;
      expect(
        Object.keys(x)
          .filter((k) => k !== 'id')
          .sort(),
        where,
      ).toEqual(['error', 'type']);
      if ('id' in x) expect(typeof x.id, where).toBe('string');
      expectErrorShape({ error: x.error }, where);
      expect(['internal_error', 'service_unavailable'], where).not.toContain(x.error.code);
    }

    it.each(Object.entries(ClientFrameBodies).map(([type, schema], i) => [type, schema as Schema, i] as const))(
      '%s frames get a well-formed reply and the socket stays open',
      async (type, schema, i) => {
        await fc.assert(
          fc.asyncProperty(frame(type, schema), (f) => sendFrame(f)),
          { seed: SEED + 100 + i, numRuns: FRAME_RUNS },
        );
      },
    );

    it('unknown frame types and frames that are not objects get an error frame', async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(frame('nope', undefined), frame('__proto__', undefined), garbage), (f) => sendFrame(f)),
        { seed: SEED + 200, numRuns: FRAME_RUNS },
      );
      expect(s.ws.readyState).toBe(s.ws.OPEN);
    });
  });

  it("leaves alice's chats, messages, members, sessions and invites as they were", async () => {
    const after = await snapshot();
    expect(after).toEqual(before);
    // And the seeded users still sign in and read their chats.
    expect((await bob.client.listChats()).chats.filter((c) => seeded.includes(c.id))).toHaveLength(3);
  });
});
