import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, ERROR_STATUS, type Endpoint } from '@parley/protocol';
import { startTestServer, type TestServer } from './_harness.ts';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

describe('the OpenAPI document', () => {
  let t: TestServer;
  let doc: any;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const validator = (name: string) => ajv.getSchema(`parley#/components/schemas/${name}`)!;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    doc = await (await fetch(`${t.url}/api/v1/openapi.json`)).json();
    ajv.addSchema({ $id: 'parley', components: doc.components });
  });
  afterAll(async () => t?.close());

  const operations = () =>
    Object.entries<Record<string, any>>(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([m]) => METHODS.includes(m))
        .map(([method, op]) => ({ path, method, op })),
    );
  const operation = (id: string) => operations().find((o) => o.op.operationId === id)!.op;

  it('names the servers and the protocol objects, and every $ref points at a named schema', () => {
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })]);
    for (const name of ['Chat', 'Message', 'User', 'Me', 'Session', 'Invite', 'Changes', 'ErrorBody']) expect(doc.components.schemas).toHaveProperty(name);
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(100);
    for (const name of new Set(refs)) expect(doc.components.schemas, `${name} is named`).toHaveProperty(name);
    const ok = (op: any) => op.responses['200'].content['application/json'].schema;
    expect(ok(operation('sendMessage')).$ref).toBe('#/components/schemas/Message');
    expect(ok(operation('getMe')).$ref).toBe('#/components/schemas/Me');
    expect(JSON.stringify(ok(operation('listChats')))).toContain('#/components/schemas/Chat"');
    // Named schemas refer to each other too: a page of changes holds messages by reference.
    expect(JSON.stringify(doc.components.schemas.Changes)).toContain('#/components/schemas/');
    for (const name of Object.keys(doc.components.schemas).filter((n) => n !== 'bearer')) expect(validator(name), name).toBeTypeOf('function');
  });

  it("answers each operation's errors by status, each with an example of its code that fits ErrorBody", () => {
    const fits = validator('ErrorBody');
    for (const e of Object.values(api) as Endpoint[]) {
      const op = operation(e.id);
      for (const code of new Set(['invalid_request', ...e.errors])) {
        const status = String(ERROR_STATUS[code as keyof typeof ERROR_STATUS]);
        const response = op.responses[status];
        expect(response, `${e.id} answers ${status} for ${code}`).toBeDefined();
        const content = response.content['application/json'];
        expect(content.schema.$ref).toBe('#/components/schemas/ErrorBody');
        const example = content.examples[code]?.value;
        expect(example?.error.code, `${e.id}: an example of ${code}`).toBe(code);
        expect(fits(example), JSON.stringify(fits.errors)).toBe(true);
      }
    }
  });

  it('describes what the server really answers: a registered user, the chat list and a sent message validate against their named schemas', async () => {
    const [ann, bob] = await t.users('ann', 'bob');
    const chat = await ann.client.createPrivateChat({ userId: bob.id });
    const sent = await ann.client.sendMessage({ chatId: chat.id, clientMessageId: 'oa-1', text: 'Hello' });
    for (const [name, value] of [
      ['Me', await ann.client.getMe()],
      ['Chat', chat],
      ['Message', sent],
      ['Chat', (await ann.client.listChats()).chats[0]],
    ] as const) {
      const fits = validator(name);
      expect(fits(value), `${name}: ${JSON.stringify(fits.errors)}`).toBe(true);
    }
    const refused = await fetch(`${t.url}/api/v1/chats/${chat.id}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ann.session.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ clientMessageId: 'oa-2' }),
    });
    expect(refused.status).toBe(400);
    expect(validator('ErrorBody')(await refused.json())).toBe(true);
  });
});
