export { PG_ADMIN_URL, freshStore, storeKinds, stores, type RawEnv, type StoreKind, type TestStore } from './stores.ts';
export { startTestServer, type ContextOverrides, type TestServer, type TestUser } from './test-server.ts';
export { unzip, unzipResponse } from './unzip.ts';
