import type { Kysely, Migration } from 'kysely';
import { isPostgres } from './dialect.ts';

/**
 * 015: the device-link mailbox. Linking a new device passes a few small opaque messages between it and an
 * existing device of the same account (a key to compare, the identity key sealed to the new device): one row
 * per sender and recipient, read once, gone after ten minutes. The server never reads inside `data`.
 */
export const deviceLinks015: Migration = {
  async up(db: Kysely<unknown>) {
    const bin = isPostgres(db) ? 'bytea' : 'blob';
    await db.schema
      .createTable('device_links')
      .addColumn('recipient_device_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('sender_device_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('data', bin, (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('device_links_pk', ['recipient_device_id', 'sender_device_id'])
      .execute();
    await db.schema.createIndex('device_links_expiry').on('device_links').column('expires_at').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('device_links').execute();
  },
};
