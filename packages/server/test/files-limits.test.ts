import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UPLOADS_PATH } from '@parley/sdk';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';

const MIB = 1024 * 1024;

/** The default limits, as a deployment that sets none has them (only the unfinished-upload cap is raised, to reach the hourly budget). */
describe.each(await stores())('upload limits at their defaults on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_MAX_UNFINISHED_UPLOADS: '20' });
  });
  afterAll(async () => t?.close());

  const create = (user: TestUser, length: number) =>
    fetch(`${t.url}${UPLOADS_PATH}`, {
      method: 'POST',
      headers: { 'tus-resumable': '1.0.0', 'upload-length': String(length), authorization: `Bearer ${user.session.accessToken}` },
    });

  it('100 MiB + 1 byte is refused with 413; the 11th 100 MiB upload in an hour with 429 and Retry-After', async () => {
    const alice = await t.user('alice');
    expect(await alice.client.getLimits()).toMatchObject({ fileSize: 100 * MIB, uploadBytesPerHour: 1024 * MIB });
    const over = await create(alice, 100 * MIB + 1);
    expect(over.status).toBe(413);
    expect((await over.json()).error.code).toBe('file_too_large');
    for (let i = 0; i < 10; i++) expect((await create(alice, 100 * MIB)).status).toBe(201);
    const eleventh = await create(alice, 100 * MIB);
    expect(eleventh.status).toBe(429);
    expect((await eleventh.json()).error.code).toBe('rate_limited');
    const wait = Number(eleventh.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(3500);
    expect(wait).toBeLessThanOrEqual(3600);
    // What is left of the hour's budget still fits: 10 × 100 MiB of 1 GiB leaves 24 MiB.
    expect((await create(alice, 24 * MIB)).status).toBe(201);
    // Another user has a budget of their own.
    const bob = await t.user('bob');
    expect((await create(bob, 100 * MIB)).status).toBe(201);
  });
});
