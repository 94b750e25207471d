// Experiment only (`npm run bench -- --experiment stmt-cache`): preloaded into the Parley server
// process, it makes better-sqlite3 hand back one prepared statement per SQL text instead of
// compiling the statement again for every query, which is what Kysely's SQLite driver asks for.
// It shows what a statement cache in the server's store adapter would save, without touching
// the server's code.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../packages/server/package.json', import.meta.url));
const Database = require('better-sqlite3');
const prepare = Database.prototype.prepare;
const caches = new WeakMap();

Database.prototype.prepare = function cachedPrepare(sql) {
  let cache = caches.get(this);
  if (!cache) caches.set(this, (cache = new Map()));
  let stmt = cache.get(sql);
  if (!stmt) {
    if (cache.size > 2000) cache.clear();
    stmt = prepare.call(this, sql);
    cache.set(sql, stmt);
  }
  return stmt;
};
