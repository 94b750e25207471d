import { describe, expect, it } from 'vitest';
import { bearerToken, deviceOf, subprotocolToken } from './credentials.ts';

const req = (headers: Record<string, string>) => ({ ip: '10.0.0.1', headers });
const TOKEN = 'abcdefghij_KLMNOP-123';

describe('credentials', () => {
  it('bearerToken() reads a well-formed Authorization header', () => {
    expect(bearerToken(req({ authorization: `Bearer ${TOKEN}` }))).toBe(TOKEN);
  });

  it('bearerToken() ignores other schemes, short tokens and odd characters', () => {
    expect(bearerToken(req({ authorization: `Basic ${TOKEN}` }))).toBeUndefined();
    expect(bearerToken(req({ authorization: 'Bearer short' }))).toBeUndefined();
    expect(bearerToken(req({ authorization: `Bearer ${TOKEN}!` }))).toBeUndefined();
    expect(bearerToken(req({}))).toBeUndefined();
  });

  it('subprotocolToken() finds the token offered beside the protocol name', () => {
    expect(subprotocolToken(req({ 'sec-websocket-protocol': `parley.v1, parley.token.${TOKEN}` }))).toBe(TOKEN);
    expect(subprotocolToken(req({ 'sec-websocket-protocol': 'parley.v1' }))).toBeUndefined();
    expect(subprotocolToken(req({ 'sec-websocket-protocol': 'parley.token.x' }))).toBeUndefined();
  });

  it('deviceOf() keeps the address and at most 512 characters of user agent', () => {
    expect(deviceOf(req({ 'user-agent': 'a'.repeat(600) }))).toEqual({ ip: '10.0.0.1', userAgent: 'a'.repeat(512) });
    expect(deviceOf(req({}))).toEqual({ ip: '10.0.0.1', userAgent: '' });
  });
});
