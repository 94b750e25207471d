import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../config/config.ts';
import { iceServersFor } from './turn.ts';

describe('iceServersFor', () => {
  const now = Date.UTC(2026, 11, 4, 12, 0, 0);

  it('gives nothing without STUN or TURN, and STUN URLs alone without credentials', () => {
    expect(iceServersFor(buildConfig({}).calls, 'u1', now)).toEqual([]);
    expect(iceServersFor(buildConfig({ PARLEY_STUN_URLS: 'stun:a:3478' }).calls, 'u1', now)).toEqual([{ urls: ['stun:a:3478'] }]);
  });

  it('mints TURN REST credentials: "<expiry>:<userId>" and base64(HMAC-SHA1(secret, username))', () => {
    const calls = buildConfig({ PARLEY_TURN_URLS: 'turn:a:3478', PARLEY_TURN_SECRET: 's3cret', PARLEY_TURN_TTL_SECONDS: '60' }).calls;
    const [server] = iceServersFor(calls, 'user-7', now);
    expect(server).toEqual({
      urls: ['turn:a:3478'],
      username: `${now / 1000 + 60}:user-7`,
      credential: createHmac('sha1', 's3cret')
        .update(`${now / 1000 + 60}:user-7`)
        .digest('base64'),
    });
    expect(JSON.stringify(server)).not.toContain('s3cret');
  });
});
