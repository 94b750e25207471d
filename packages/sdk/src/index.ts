export { ParleyClient, type ClientOptions, type ApiMethods } from './http-client.ts';
export { ParleyError } from './errors.ts';
export * from '@parley/protocol';
export {
  ParleyRealtime,
  type RealtimeOptions,
  type RealtimeEvents,
  type PendingMessage,
  type ConnectionState,
  type WebSocketLike,
  type WebSocketFactory,
} from './realtime.ts';
