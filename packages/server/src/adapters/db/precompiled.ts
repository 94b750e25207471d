import type { CompiledQuery, Compilable, Kysely } from 'kysely';
import type { DB } from './schema.ts';

/** Stands for the i-th argument of a precompiled query while Kysely builds it. */
class Slot {
  constructor(readonly index: number) {}
}

/**
 * A query Kysely builds and compiles once per database, then runs with new arguments: for the
 * hot paths, where building and compiling the same query tree on every call costs more than
 * running it. `build` gets stand-ins for the arguments and must use each only as a value (in a
 * where, a set or a values clause), never to choose the shape of the query.
 *
 *   const byChat = precompiled((db, chatId: string) => db.selectFrom('members').select('user_id').where('chat_id', '=', chatId));
 *   const rows = await byChat(tx, 'c1');
 */
export function precompiled<A extends unknown[], R>(build: (db: Kysely<DB>, ...args: A) => Compilable<R>): (db: Kysely<DB>, ...args: A) => Promise<R[]> {
  // One compiled form per dialect: tests run SQLite and PostgreSQL in one process.
  const compiledFor = new WeakMap<object, CompiledQuery<R>>();
  const slots = Array.from({ length: build.length - 1 }, (_, i) => new Slot(i)) as unknown as A;
  return async (db, ...args) => {
    const adapter = db.getExecutor().adapter;
    let compiled = compiledFor.get(adapter);
    if (!compiled) {
      compiled = build(db, ...slots).compile();
      if (compiled.parameters.filter((p) => p instanceof Slot).length !== slots.length) {
        throw new Error(`A precompiled query must use each of its ${slots.length} arguments once as a value: ${compiled.sql}`);
      }
      compiledFor.set(adapter, compiled);
    }
    const parameters = compiled.parameters.map((p) => (p instanceof Slot ? args[p.index] : p));
    return (await db.executeQuery<R>({ ...compiled, parameters })).rows;
  };
}
