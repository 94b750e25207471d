import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './_harness.ts';

describe('getLimits', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', {
      PARLEY_MAX_MESSAGE_LENGTH: '2000',
      PARLEY_MAX_GROUP_MEMBERS: '7',
      PARLEY_MAX_SESSIONS: '3',
      PARLEY_MAX_FILE_SIZE: '1000000',
      PARLEY_UPLOAD_BYTES_PER_HOUR: '5000000',
      PARLEY_MAX_UNFINISHED_UPLOADS: '2',
    });
  });
  afterAll(async () => t?.close());

  it('reports the limits the operator configured, not built-in copies', async () => {
    const alice = await t.user('alice');
    expect(await alice.client.getLimits()).toEqual({
      messageLength: 2000,
      groupMembers: 7,
      channelSubscribers: 10_000,
      chatsPerUser: 500,
      sessionsPerUser: 3,
      fileSize: 1_000_000,
      uploadBytesPerHour: 5_000_000,
      unfinishedUploads: 2,
      attachmentsPerMessage: 10,
    });
  });

  it('needs a session', async () => {
    const anonymous = t.client();
    await expect(anonymous.getLimits()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  });
});
