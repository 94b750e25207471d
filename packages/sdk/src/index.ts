export { ParleyClient, type ClientOptions, type ApiMethods } from './http-client.ts';
export { ParleyError } from './errors.ts';
export * from '@parley/protocol';
