// The protocol's constants that clients use at run time. They live apart from the schemas, which only the
// server validates with, so that a client bundle importing them carries no schema and no typebox.

/** The WebSocket subprotocol; a browser sends the access token as a second one: `parley.token.<accessToken>`. */
export const WS_PROTOCOL = 'parley.v1';
export const WS_TOKEN_PREFIX = 'parley.token.';
export const WS_PATH = '/api/v1/ws';

/** Close codes the server uses; a client reconnects (and resyncs) unless the code says not to. */
export const CLOSE = {
  /** the server is shutting down: reconnect to another node */
  goingAway: 1001,
  /** a frame that is not valid JSON or not a known request */
  badFrame: 4000,
  /** the session ended (logout, terminated, expired): do not reconnect with these tokens */
  sessionEnded: 4001,
  /** nobody refreshed the session's access token before it expired: refresh, then reconnect and resync */
  tokenExpired: 4002,
  /** the client read too slowly and its buffer overflowed: reconnect and resync from the cursor */
  slowConsumer: 4008,
  /** no pong to the server's pings */
  timeout: 4010,
  /** the user or the session already has as many sockets open as the server allows: close one first */
  tooManySockets: 4029,
} as const;

/** Where uploads go: tus 1.0 (https://tus.io/protocols/resumable-upload), with the API's bearer token. */
export const UPLOADS_PATH = '/api/v1/uploads';
/** Where a file is downloaded: `GET /api/v1/files/:fileId` (Range requests answered with 206). */
export const FILES_PATH = '/api/v1/files';
/** The response header of the finished upload (the last PATCH) that names the file it became. */
export const FILE_ID_HEADER = 'parley-file-id';
/** Beside it: the hex sha256 of the bytes the server stored, for the uploader to compare. */
export const SHA256_HEADER = 'parley-sha256';

/** Longest inline thumbnail (base64 characters, about 3 KiB of image). */
export const MAX_THUMBNAIL_LENGTH = 4096;

/** The chat-log changes a timeline shows as service lines ("Alice added Carol"). */
export const NOTICE_TYPES = ['member.added', 'member.removed', 'member.updated', 'chat.updated', 'call.ended'] as const;

/** How long an unread device-link message is kept, in milliseconds. */
export const DEVICE_LINK_TTL_MS = 10 * 60_000;
