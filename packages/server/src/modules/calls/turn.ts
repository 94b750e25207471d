import { createHmac } from 'node:crypto';
import type { IceServer } from '@parley/protocol';
import type { Config } from '../../config/config.ts';

/**
 * The ICE servers a user's RTCPeerConnection gets: the STUN URLs as they are, and the TURN URLs with
 * TURN REST credentials (coturn's use-auth-secret): username "<unix expiry>:<userId>", credential
 * base64(HMAC-SHA1(secret, username)). The TURN server checks them with the same secret, which
 * never leaves the server; the expiry in the username is their only lifetime.
 */
export function iceServersFor(calls: Config['calls'], userId: string, now: number): IceServer[] {
  const servers: IceServer[] = [];
  if (calls.stunUrls.length > 0) servers.push({ urls: [...calls.stunUrls] });
  if (calls.turnUrls.length > 0 && calls.turnSecret !== null) {
    const username = `${Math.floor((now + calls.turnTtlMs) / 1000)}:${userId}`;
    const credential = createHmac('sha1', calls.turnSecret).update(username).digest('base64');
    servers.push({ urls: [...calls.turnUrls], username, credential });
  }
  return servers;
}
