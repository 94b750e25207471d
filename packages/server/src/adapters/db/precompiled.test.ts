import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { precompiled } from './precompiled.ts';
import type { DB } from './schema.ts';

describe('precompiled()', () => {
  let db: Kysely<DB>;
  let statements = 0;

  beforeAll(async () => {
    const sqlite = new SQLite(':memory:');
    db = new Kysely<DB>({
      dialect: new SqliteDialect({ database: sqlite }),
      log: (e) => {
        if (e.level === 'query') statements++;
      },
    });
    await db.schema.createTable('members').addColumn('chat_id', 'text').addColumn('user_id', 'text').addColumn('role', 'text').execute();
    await db
      .insertInto('members')
      .values(
        [
          ['c1', 'a'],
          ['c1', 'b'],
          ['c2', 'c'],
        ].map(([chat_id, user_id]) => ({ chat_id, user_id, role: 'member' })) as never,
      )
      .execute();
  });
  afterAll(async () => db?.destroy());

  it('precompiled() runs the query with each call’s arguments', async () => {
    const byChat = precompiled((k, chatId: string) => k.selectFrom('members').select('user_id').where('chat_id', '=', chatId).orderBy('user_id'));
    expect((await byChat(db, 'c1')).map((r) => r.user_id)).toEqual(['a', 'b']);
    expect((await byChat(db, 'c2')).map((r) => r.user_id)).toEqual(['c']);
    expect(await byChat(db, 'none')).toEqual([]);
  });

  it('precompiled() puts several arguments where the query uses them', async () => {
    const one = precompiled((k, userId: string, chatId: string) =>
      k.selectFrom('members').select('chat_id').where('user_id', '=', userId).where('chat_id', '=', chatId),
    );
    expect(await one(db, 'a', 'c1')).toEqual([{ chat_id: 'c1' }]);
    expect(await one(db, 'a', 'c2')).toEqual([]);
  });

  it('precompiled() builds the query once per database', async () => {
    let builds = 0;
    const count = precompiled((k, chatId: string) => {
      builds++;
      return k.selectFrom('members').select('user_id').where('chat_id', '=', chatId);
    });
    const before = statements;
    await count(db, 'c1');
    await count(db, 'c2');
    await count(db, 'c1');
    expect(builds).toBe(1);
    expect(statements - before).toBe(3);
  });

  it('precompiled() rejects a query that does not use an argument as a value', async () => {
    const shaped = precompiled((k, _chatId: string) => k.selectFrom('members').select('user_id'));
    await expect(shaped(db, 'c1')).rejects.toThrow('must use each of its 1 arguments once as a value');
  });
});
