export const API_PREFIX = '/api/v1';
export const OPENAPI_PATH = `${API_PREFIX}/openapi.json`;
/** The largest request body accepted, in bytes. */
export const BODY_LIMIT = 1024 * 1024;
/** The router's limit for one path segment. */
export const MAX_PARAM_LENGTH = 200;
/** The largest body of an operation that needs no session (register, login, refresh). */
export const PUBLIC_BODY_LIMIT = 16 * 1024;
