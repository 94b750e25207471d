import { Type, type Static } from 'typebox';
import { endpoint } from '../endpoint.ts';
import { Id, Strict, Timestamp } from '../common.ts';
import { Me } from './account.ts';

export const Username = Type.String({
  minLength: 3,
  maxLength: 32,
  pattern: '^[A-Za-z0-9_]+$',
  description: '3 to 32 of a-z, 0-9 and _; compared and stored in lower case',
});
export const Password = Type.String({ minLength: 8, maxLength: 256, description: '8 to 256 characters' });
export const DisplayName = Type.String({ minLength: 1, maxLength: 64, description: '1 to 64 characters' });
export const DeviceName = Type.String({ minLength: 1, maxLength: 64, description: 'Name of this device, shown in the session list' });

export const SessionTokens = Strict(
  {
    sessionId: Id,
    userId: Id,
    accessToken: Type.String({ description: 'Send as `Authorization: Bearer <accessToken>`' }),
    accessTokenExpiresAt: Timestamp,
    refreshToken: Type.String({ description: 'Single use: exchange it with refreshSession for new tokens' }),
    refreshTokenExpiresAt: Timestamp,
  },
  'The tokens of one session (one device)',
);
export type SessionTokens = Static<typeof SessionTokens>;

export const Session = Strict(
  {
    id: Id,
    deviceName: Type.String(),
    createdAt: Timestamp,
    lastActiveAt: Timestamp,
    ip: Type.String({ description: 'Address the session was last used from' }),
    userAgent: Type.String(),
    current: Type.Boolean({ description: 'true for the session making the request' }),
  },
  'One signed-in device',
);
export type Session = Static<typeof Session>;

export const register = endpoint({
  id: 'register',
  method: 'POST',
  path: '/auth/register',
  summary: 'Create an account with an invite code',
  tag: 'auth',
  auth: false,
  status: 201,
  body: Strict({ inviteCode: Type.String({ minLength: 1, maxLength: 128 }), username: Username, password: Password, displayName: DisplayName }),
  response: Me,
  errors: ['invalid_request', 'invite_invalid', 'invite_expired', 'invite_revoked', 'invite_used_up', 'username_taken', 'rate_limited'],
});

export const login = endpoint({
  id: 'login',
  method: 'POST',
  path: '/auth/login',
  summary: 'Sign in a device; re-uses the session when `sessionId` names one this user had',
  tag: 'auth',
  auth: false,
  body: Strict({
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
    deviceName: DeviceName,
    sessionId: Type.Optional(Id),
  }),
  response: SessionTokens,
  errors: ['invalid_request', 'invalid_credentials', 'account_disabled', 'rate_limited'],
});

export const refreshSession = endpoint({
  id: 'refreshSession',
  method: 'POST',
  path: '/auth/refresh',
  summary: 'Exchange a refresh token for new tokens; a reused refresh token revokes the session',
  tag: 'auth',
  auth: false,
  body: Strict({ refreshToken: Type.String({ minLength: 1, maxLength: 256 }) }),
  response: SessionTokens,
  errors: ['invalid_request', 'refresh_token_invalid', 'refresh_token_reused'],
});

export const logout = endpoint({
  id: 'logout',
  method: 'POST',
  path: '/auth/logout',
  summary: 'End the current session',
  tag: 'auth',
  auth: true,
  status: 204,
  errors: ['unauthorized'],
});

export const getCurrentSession = endpoint({
  id: 'getCurrentSession',
  method: 'GET',
  path: '/sessions/current',
  summary: 'The session making the request',
  tag: 'sessions',
  auth: true,
  response: Session,
  errors: ['unauthorized'],
});

export const listSessions = endpoint({
  id: 'listSessions',
  method: 'GET',
  path: '/sessions',
  summary: 'All sessions of the current user, newest activity first',
  tag: 'sessions',
  auth: true,
  response: Strict({ sessions: Type.Array(Session) }),
  errors: ['unauthorized'],
});

export const terminateSession = endpoint({
  id: 'terminateSession',
  method: 'DELETE',
  path: '/sessions/:sessionId',
  summary: 'Terminate another session of the current user',
  tag: 'sessions',
  auth: true,
  status: 204,
  params: Strict({ sessionId: Id }),
  errors: ['unauthorized', 'not_found', 'invalid_request'],
});

export const terminateOtherSessions = endpoint({
  id: 'terminateOtherSessions',
  method: 'POST',
  path: '/sessions/terminate-others',
  summary: 'Terminate every session of the current user except this one',
  tag: 'sessions',
  auth: true,
  response: Strict({ terminated: Type.Integer({ minimum: 0 }) }),
  errors: ['unauthorized'],
});
