import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParleyError } from '@parley/sdk';
import { uploadFile } from '@parley/sdk/node';
import { collectFiles } from '../src/modules/files/collect.ts';
import { lines, runParley } from './_cli.ts';
import { startTestServer, stores, unzip, type TestServer } from './_harness.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'parley-export-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.each(await stores())('parley user export and user delete on %s', (kind) => {
  let t: TestServer;
  const parley = (...args: string[]) => runParley(args, { ...t.store.env, LOG_LEVEL: 'silent' });

  beforeAll(async () => (t = await startTestServer(kind)));
  afterAll(async () => t?.close());

  it('user export NAME FILE.zip writes the zip the account would download, and never overwrites a file', async () => {
    const erin = await t.user('erin');
    const self = (await erin.client.listChats()).chats.find((c) => c.kind === 'self')!;
    const bytes = randomBytes(100 * 1024);
    const { fileId } = await uploadFile(erin.client, bytes, { name: 'plan.pdf', mimeType: 'application/pdf' });
    await erin.client.sendMessage({
      chatId: self.id,
      clientMessageId: 'e1',
      text: 'Plan',
      attachments: [{ fileId, name: 'plan.pdf', mimeType: 'application/pdf' }],
    });

    const file = path.join(tmp, `${kind}-erin.zip`);
    const run = await parley('user', 'export', 'erin', file);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(lines(run.stdout)).toEqual([expect.stringMatching(new RegExp(`^Wrote the data of erin to .*${kind}-erin\\.zip \\(\\d+ bytes\\)$`))]);
    const zip = await unzip(readFileSync(file));
    expect(JSON.parse(zip.get('profile.json')!.toString()).profile.username).toBe('erin');
    expect(JSON.parse(zip.get(`messages/${self.id}.json`)!.toString()).messages.map((m: { text: string }) => m.text)).toEqual(['Plan']);
    expect(Buffer.compare(zip.get(`files/${fileId}-plan.pdf`)!, bytes)).toBe(0);

    const existing = path.join(tmp, `${kind}-existing.zip`);
    writeFileSync(existing, 'keep me');
    const refused = await parley('user', 'export', 'erin', existing);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('exists already');
    expect(readFileSync(existing, 'utf8')).toBe('keep me');

    const unknown = await parley('user', 'export', 'nobody_here', path.join(tmp, `${kind}-nobody.zip`));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('User "nobody_here" was not found');
    expect(existsSync(path.join(tmp, `${kind}-nobody.zip`))).toBe(false);
  });

  it('user delete NAME deletes the account without asking, says what it did, and its files go at the next collection', async () => {
    const [fred, gina] = await t.users('fred', 'gina');
    const chat = await fred.client.createPrivateChat({ userId: gina.id });
    const { fileId } = await uploadFile(fred.client, Buffer.from('fred file'), { name: 'f.txt', mimeType: 'text/plain' });
    await fred.client.sendMessage({ chatId: chat.id, clientMessageId: 'f1', text: 'Bye', attachments: [{ fileId, name: 'f.txt', mimeType: 'text/plain' }] });

    const run = await parley('user', 'delete', 'fred');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(lines(run.stdout)).toEqual([
      'Deleted fred: sessions ended, chats left, profile emptied; messages sent to others stay, from a deleted account',
      'Released the files of 1 message(s); 1 file(s) go at the next cleanup run',
    ]);
    const err = await fred.client.getMe().then(
      () => null,
      (e: ParleyError) => e,
    );
    expect(err?.status).toBe(401);
    const login = await t
      .client()
      .login({ username: 'fred', password: fred.password, deviceName: 'x' })
      .then(
        () => null,
        (e: ParleyError) => e,
      );
    expect(login?.code).toBe('invalid_credentials');
    expect((await gina.client.listMessages({ chatId: chat.id })).messages.map((m) => m.text)).toEqual(['Bye']);
    await collectFiles(t.server.ctx);
    expect(await t.server.ctx.blobs.size(fileId)).toBeNull();

    const again = await parley('user', 'delete', 'fred');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('User "fred" was not found');
  });
});
