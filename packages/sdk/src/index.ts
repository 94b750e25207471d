export { ParleyClient, type ClientOptions, type ApiMethods } from './http-client.ts';
export { ParleyError } from './errors.ts';
export {
  FileUpload,
  uploadFile,
  downloadWithProgress,
  readWithProgress,
  type UploadSource,
  type UploadFileOptions,
  type UploadedFile,
  type DownloadOptions,
} from './files.ts';
export * from '@parley/protocol';
export { ParleyRealtime, type RealtimeOptions, type RealtimeEvents, type PlacedCall, type ResumedCall } from './realtime.ts';
export type { PendingMessage } from './outbox.ts';
export type { ConnectionState, WebSocketLike, WebSocketFactory } from './connection.ts';
