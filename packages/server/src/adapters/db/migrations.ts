import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { isPostgres } from './dialect.ts';
import { deviceLinks015 } from './migration-015-device-links.ts';

// One migration set for both dialects: portable schema-builder types only, but for search (007).
export const migrations: Record<string, Migration> = {
  '001_accounts': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('username', 'varchar(32)')
        .addColumn('display_name', 'varchar(256)', (c) => c.notNull())
        .addColumn('password_hash', 'varchar(256)')
        .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('disabled_at', 'bigint')
        .addColumn('deleted_at', 'bigint')
        .addColumn('event_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('users_username').unique().on('users').column('username').execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('device_name', 'varchar(256)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('ip', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_agent', 'varchar(512)', (c) => c.notNull())
        .addColumn('access_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('access_expires_at', 'bigint', (c) => c.notNull())
        .addColumn('refresh_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('refresh_expires_at', 'bigint', (c) => c.notNull())
        .addColumn('prev_refresh_hash', 'varchar(64)')
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').columns(['user_id', 'created_at']).execute();
      await db.schema.createIndex('sessions_access').unique().on('sessions').column('access_hash').execute();
      await db.schema.createIndex('sessions_refresh').unique().on('sessions').column('refresh_hash').execute();
      await db.schema.createIndex('sessions_prev_refresh').on('sessions').column('prev_refresh_hash').execute();
      await db.schema.createIndex('sessions_refresh_expiry').on('sessions').column('refresh_expires_at').execute();

      await db.schema
        .createTable('invites')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('code_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('code_hint', 'varchar(16)', (c) => c.notNull())
        .addColumn('created_by', 'varchar(64)', (c) => c.references('users.id').onDelete('cascade'))
        .addColumn('admin', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_uses', 'integer', (c) => c.notNull())
        .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema.createIndex('invites_code').unique().on('invites').column('code_hash').execute();
      await db.schema.createIndex('invites_creator').on('invites').columns(['created_by', 'created_at']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('invites').execute();
      await db.schema.dropTable('sessions').execute();
      await db.schema.dropTable('users').execute();
    },
  },
  '002_chats': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('users').addColumn('last_seen_at', 'bigint').execute();
      await db.schema
        .createTable('chats')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('title', 'varchar(512)')
        .addColumn('owner_id', 'varchar(64)')
        .addColumn('pair_key', 'varchar(140)')
        .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('member_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('deleted_at', 'bigint')
        .execute();
      // One private chat per pair and one saved-messages chat per user, enforced by the database.
      await db.schema.createIndex('chats_pair').unique().on('chats').column('pair_key').execute();

      await db.schema
        .createTable('members')
        .addColumn('chat_id', 'varchar(64)', (c) => c.notNull().references('chats.id').onDelete('cascade'))
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('role', 'varchar(16)', (c) => c.notNull())
        .addColumn('joined_at', 'bigint', (c) => c.notNull())
        .addColumn('joined_seq', 'bigint', (c) => c.notNull())
        .addColumn('read_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('hidden_seq', 'bigint')
        .addColumn('muted', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('members_pk', ['chat_id', 'user_id'])
        .execute();
      await db.schema.createIndex('members_user').on('members').columns(['user_id', 'chat_id']).execute();

      await db.schema
        .createTable('messages')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('chat_id', 'varchar(64)', (c) => c.notNull().references('chats.id').onDelete('cascade'))
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('sender_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('client_message_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('text', 'text')
        .addColumn('reply_to_id', 'varchar(64)')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('edited_at', 'bigint')
        .addColumn('deleted_at', 'bigint')
        .execute();
      await db.schema.createIndex('messages_chat_seq').unique().on('messages').columns(['chat_id', 'seq']).execute();
      // A retried send finds the original through this index; the constraint makes duplicates impossible.
      await db.schema.createIndex('messages_idempotency').unique().on('messages').columns(['chat_id', 'sender_id', 'client_message_id']).execute();

      await db.schema
        .createTable('chat_events')
        .addColumn('chat_id', 'varchar(64)', (c) => c.notNull().references('chats.id').onDelete('cascade'))
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('type', 'varchar(32)', (c) => c.notNull())
        .addColumn('message_id', 'varchar(64)')
        .addColumn('actor_id', 'varchar(64)')
        .addColumn('data', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('chat_events_pk', ['chat_id', 'seq'])
        .execute();

      await db.schema
        .createTable('user_events')
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('type', 'varchar(32)', (c) => c.notNull())
        .addColumn('chat_id', 'varchar(64)')
        .addColumn('data', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('user_events_pk', ['user_id', 'seq'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of ['user_events', 'chat_events', 'messages', 'members', 'chats']) await db.schema.dropTable(table).execute();
      await db.schema.alterTable('users').dropColumn('last_seen_at').execute();
    },
  },
  '003_chat_invitations': {
    async up(db: Kysely<unknown>) {
      // Who may put me in a group or channel: everyone, people I share a chat with, or nobody.
      await db.schema
        .alterTable('users')
        .addColumn('add_policy', 'varchar(16)', (c) => c.notNull().defaultTo('everyone'))
        .execute();
      // Someone I do not allow to add me asked me in: I join only by accepting.
      await db.schema
        .createTable('chat_invitations')
        .addColumn('chat_id', 'varchar(64)', (c) => c.notNull().references('chats.id').onDelete('cascade'))
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('invited_by', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('chat_invitations_pk', ['chat_id', 'user_id'])
        .execute();
      await db.schema.createIndex('chat_invitations_user').on('chat_invitations').columns(['user_id', 'created_at']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('chat_invitations').execute();
      await db.schema.alterTable('users').dropColumn('add_policy').execute();
    },
  },
  '004_files': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('files')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('owner_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('name', 'varchar(1024)')
        .addColumn('mime_type', 'varchar(255)')
        .addColumn('state', 'varchar(16)', (c) => c.notNull().check(sql`state in ('uploading', 'ready', 'deleting')`))
        .addColumn('ref_count', 'integer', (c) =>
          c
            .notNull()
            .defaultTo(0)
            .check(sql`ref_count >= 0`),
        )
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('unreferenced_since', 'bigint')
        .execute();
      await db.schema.createIndex('files_owner_state').on('files').columns(['owner_id', 'state']).execute();
      // What the cleanup job looks for: unreferenced files past their grace, uploads past their expiry.
      await db.schema.createIndex('files_unreferenced').on('files').columns(['state', 'ref_count', 'unreferenced_since']).execute();
      await db.schema.createIndex('files_expiry').on('files').columns(['state', 'expires_at']).execute();
      // No foreign key to files: a reference is taken only by the conditional UPDATE on the file row
      // (docs/files.md), and a message's references go with it in the same transaction.
      await db.schema
        .createTable('file_refs')
        .addColumn('file_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('message_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('chat_id', 'varchar(64)', (c) => c.notNull())
        .addPrimaryKeyConstraint('file_refs_pk', ['file_id', 'message_id'])
        .execute();
      await db.schema.createIndex('file_refs_message').on('file_refs').column('message_id').execute();
      await db.schema.createIndex('file_refs_chat').on('file_refs').column('chat_id').execute();
      await db.schema.alterTable('messages').addColumn('attachments', 'text').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('messages').dropColumn('attachments').execute();
      await db.schema.dropTable('file_refs').execute();
      await db.schema.dropTable('files').execute();
    },
  },
  '005_file_sha256': {
    async up(db: Kysely<unknown>) {
      // Hex sha256 of the stored bytes, computed when the upload finishes; null while uploading.
      await db.schema.alterTable('files').addColumn('sha256', 'varchar(64)').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('files').dropColumn('sha256').execute();
    },
  },
  '006_avatars': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('users').addColumn('avatar_file_id', 'varchar(64)').execute();
      await db.schema.alterTable('chats').addColumn('avatar_file_id', 'varchar(64)').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('chats').dropColumn('avatar_file_id').execute();
      await db.schema.alterTable('users').dropColumn('avatar_file_id').execute();
    },
  },
  '007_message_search': {
    // Full-text search over message text, one per dialect (the only migration that is not portable):
    // SQLite's FTS5 as an external-content index kept by triggers, PostgreSQL's text search as an
    // expression GIN index. Both use language-neutral word splitting (no stemming): Parley's users
    // write in any language.
    async up(db: Kysely<unknown>) {
      if (isPostgres(db)) {
        await sql`CREATE INDEX messages_search ON messages USING gin (to_tsvector('simple', coalesce(text, '')))`.execute(db);
        return;
      }
      await sql`CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')`.execute(
        db,
      );
      await sql`CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN coalesce(new.text, '') <> '' BEGIN
        INSERT INTO messages_fts(rowid, text) VALUES (new.rowid, new.text);
      END`.execute(db);
      await sql`CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text) SELECT 'delete', old.rowid, old.text WHERE coalesce(old.text, '') <> '';
        INSERT INTO messages_fts(rowid, text) SELECT new.rowid, new.text WHERE coalesce(new.text, '') <> '';
      END`.execute(db);
      await sql`CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN coalesce(old.text, '') <> '' BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
      END`.execute(db);
      await sql`INSERT INTO messages_fts(rowid, text) SELECT rowid, text FROM messages WHERE coalesce(text, '') <> ''`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      if (isPostgres(db)) {
        await sql`DROP INDEX messages_search`.execute(db);
        return;
      }
      for (const trigger of ['messages_fts_insert', 'messages_fts_update', 'messages_fts_delete']) await sql`DROP TRIGGER ${sql.raw(trigger)}`.execute(db);
      await sql`DROP TABLE messages_fts`.execute(db);
    },
  },
  '008_reactions': {
    async up(db: Kysely<unknown>) {
      // One row per person, message and emoji; the message's own column keeps the summary the wire shows.
      await db.schema
        .createTable('reactions')
        .addColumn('message_id', 'varchar(64)', (c) => c.notNull().references('messages.id').onDelete('cascade'))
        .addColumn('chat_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('emoji', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('reactions_pk', ['message_id', 'user_id', 'emoji'])
        .execute();
      await db.schema.createIndex('reactions_chat').on('reactions').column('chat_id').execute();
      await db.schema.alterTable('messages').addColumn('reactions', 'text').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('messages').dropColumn('reactions').execute();
      await db.schema.dropTable('reactions').execute();
    },
  },
  '009_e2ee_devices': {
    // Identities, devices, signed device lists and KeyPackages for end-to-end encryption. Key material
    // and the opaque blobs clients sign are bytes: bytea on PostgreSQL, blob on SQLite (the only
    // dialect difference; both drivers read and write them as Buffers).
    async up(db: Kysely<unknown>) {
      const bin = isPostgres(db) ? 'bytea' : 'blob';
      await db.schema
        .createTable('identities')
        .addColumn('user_id', 'varchar(64)', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
        .addColumn('public_key', bin, (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('recovery_blob', bin)
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // A device is the session that registered it; its row outlives the session (status ended) so
      // that other devices can tell an ended device from one they never heard of.
      await db.schema
        .createTable('devices')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('name', 'varchar(256)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull().check(sql`status in ('pending', 'active', 'ended')`))
        .addColumn('signature_key', bin, (c) => c.notNull())
        .addColumn('link_commitment', bin)
        .addColumn('cert', bin)
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('approved_at', 'bigint')
        .addColumn('ended_at', 'bigint')
        .execute();
      await db.schema.createIndex('devices_signature_key').unique().on('devices').column('signature_key').execute();
      await db.schema.createIndex('devices_user_status').on('devices').columns(['user_id', 'status']).execute();
      await db.schema
        .createTable('device_lists')
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('version', 'bigint', (c) => c.notNull())
        .addColumn('data', bin, (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('device_lists_pk', ['user_id', 'version'])
        .execute();
      await db.schema
        .createTable('key_packages')
        .addColumn('ref', bin, (c) => c.primaryKey())
        .addColumn('device_id', 'varchar(64)', (c) => c.notNull().references('devices.id').onDelete('cascade'))
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('cipher_suite', 'integer', (c) => c.notNull())
        .addColumn('data', bin, (c) => c.notNull())
        .addColumn('last_resort', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      // What a claim reads: a device's single-use packages, oldest first.
      await db.schema.createIndex('key_packages_device').on('key_packages').columns(['device_id', 'last_resort', 'created_at']).execute();
      await db.schema.createIndex('key_packages_expiry').on('key_packages').column('expires_at').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('key_packages').execute();
      await db.schema.dropTable('device_lists').execute();
      await db.schema.dropTable('devices').execute();
      await db.schema.dropTable('identities').execute();
    },
  },
  '010_calls': {
    async up(db: Kysely<unknown>) {
      // 1:1 calls: the row is the truth about a call's state (the bus only wakes nodes). Ended rows stay as history.
      await db.schema
        .createTable('calls')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('chat_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('caller_user', 'varchar(64)', (c) => c.notNull())
        .addColumn('caller_session', 'varchar(64)', (c) => c.notNull())
        .addColumn('callee_user', 'varchar(64)', (c) => c.notNull())
        .addColumn('callee_session', 'varchar(64)')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('ring_expires_at', 'bigint', (c) => c.notNull())
        .addColumn('answered_at', 'bigint')
        .addColumn('ended_at', 'bigint')
        .addColumn('end_reason', 'varchar(16)')
        // When each side's device last bound itself to the call (invite, answer, call.resume after a reconnect).
        .addColumn('caller_bound_at', 'bigint')
        .addColumn('callee_bound_at', 'bigint')
        .execute();
      // At most one ringing or active call per chat, across nodes: a partial unique index (SQLite and PostgreSQL both have them).
      await db.schema
        .createIndex('calls_live_chat')
        .unique()
        .on('calls')
        .column('chat_id')
        // "not ended" rather than "in (ringing, active)": PostgreSQL prints an IN list back differently
        // after a dump and restore, and the schema snapshots compare the printed definition.
        .where(sql.ref('state'), '<>', sql.lit('ended'))
        .execute();
      await db.schema.createIndex('calls_caller').on('calls').columns(['caller_user', 'state']).execute();
      await db.schema.createIndex('calls_callee').on('calls').columns(['callee_user', 'state']).execute();
      await db.schema.createIndex('calls_ring_expiry').on('calls').columns(['state', 'ring_expires_at']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('calls').execute();
    },
  },
  '011_mls_groups': {
    // The delivery service of end-to-end encrypted chats: one MLS group per chat. `chats.mls_epoch` is
    // the group's current epoch (null: no group yet); a commit advances it and takes the chat's next
    // position in one statement, so commits are totally ordered with everything else in the chat.
    // The commit itself (and its Welcome) travels in the `mls.commit` event's data at that position.
    async up(db: Kysely<unknown>) {
      const bin = isPostgres(db) ? 'bytea' : 'blob';
      await db.schema
        .alterTable('chats')
        .addColumn('e2ee', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('chats').addColumn('mls_epoch', 'bigint').execute();
      await db.schema
        .createTable('mls_groups')
        .addColumn('chat_id', 'varchar(64)', (c) => c.primaryKey().references('chats.id').onDelete('cascade'))
        .addColumn('group_id', bin, (c) => c.notNull())
        .addColumn('cipher_suite', 'integer', (c) => c.notNull())
        .addColumn('group_info', bin, (c) => c.notNull())
        .addColumn('group_info_epoch', 'bigint', (c) => c.notNull())
        .addColumn('group_info_seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('mls_groups_group_id').unique().on('mls_groups').column('group_id').execute();
      await db.schema
        .createTable('mls_commits')
        .addColumn('group_id', bin, (c) => c.notNull())
        .addColumn('epoch', 'bigint', (c) => c.notNull())
        .addColumn('chat_id', 'varchar(64)', (c) => c.notNull().references('chats.id').onDelete('cascade'))
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('device_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('client_commit_id', 'varchar(64)', (c) => c.notNull())
        .addPrimaryKeyConstraint('mls_commits_pk', ['group_id', 'epoch'])
        .execute();
      // The idempotency key: a retried commit finds its original.
      await db.schema.createIndex('mls_commits_client_id').unique().on('mls_commits').columns(['chat_id', 'device_id', 'client_commit_id']).execute();
      await db.schema
        .createTable('mls_group_devices')
        .addColumn('chat_id', 'varchar(64)', (c) => c.notNull().references('chats.id').onDelete('cascade'))
        .addColumn('device_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('joined_seq', 'bigint', (c) => c.notNull())
        .addColumn('joined_epoch', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('mls_group_devices_pk', ['chat_id', 'device_id'])
        .execute();
      await db.schema.createIndex('mls_group_devices_device').on('mls_group_devices').column('device_id').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('mls_group_devices').execute();
      await db.schema.dropTable('mls_commits').execute();
      await db.schema.dropTable('mls_groups').execute();
      await db.schema.alterTable('chats').dropColumn('mls_epoch').execute();
      await db.schema.alterTable('chats').dropColumn('e2ee').execute();
    },
  },
  '012_push_subscriptions': {
    // Web push (docs/push.md). A subscription belongs to a session and goes with it: the foreign key
    // removes it on every session end (logout, termination, eviction, expiry, the user's deletion).
    // `push_keys` holds the VAPID key pair the server generated at its first start (unless configured).
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('push_subscriptions')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('session_id', 'varchar(64)', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('endpoint', 'varchar(2048)', (c) => c.notNull())
        .addColumn('p256dh', 'varchar(128)', (c) => c.notNull())
        .addColumn('auth', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('push_subscriptions_session').unique().on('push_subscriptions').columns(['session_id', 'endpoint']).execute();
      await db.schema.createIndex('push_subscriptions_user').on('push_subscriptions').column('user_id').execute();
      await db.schema
        .createTable('push_keys')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('public_key', 'varchar(128)', (c) => c.notNull())
        .addColumn('private_key', 'varchar(128)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('push_keys').execute();
      await db.schema.dropTable('push_subscriptions').execute();
    },
  },
  '013_pins_mentions': {
    async up(db: Kysely<unknown>) {
      // A pin is a state of the message (its chat log records each change); the index serves a chat's pin list.
      await db.schema.alterTable('messages').addColumn('pinned_at', 'bigint').execute();
      await db.schema.alterTable('messages').addColumn('pinned_by', 'varchar(64)').execute();
      await db.schema.alterTable('messages').addColumn('forwarded', 'text').execute();
      await db.schema.alterTable('messages').addColumn('mentions', 'text').execute();
      await db.schema.createIndex('messages_pins').on('messages').columns(['chat_id', 'pinned_at']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('messages_pins').execute();
      await db.schema.alterTable('messages').dropColumn('mentions').execute();
      await db.schema.alterTable('messages').dropColumn('forwarded').execute();
      await db.schema.alterTable('messages').dropColumn('pinned_by').execute();
      await db.schema.alterTable('messages').dropColumn('pinned_at').execute();
    },
  },
  '014_mls_messages': {
    // Application messages of end-to-end encrypted chats: the MLS PrivateMessage as the sender's device
    // made it, the epoch it was made at, and for an edit the message it replaces. Deleting a message
    // for everyone sets `ciphertext` to null (with its edits'); the server never reads inside it.
    async up(db: Kysely<unknown>) {
      const bin = isPostgres(db) ? 'bytea' : 'blob';
      await db.schema.alterTable('messages').addColumn('ciphertext', bin).execute();
      await db.schema.alterTable('messages').addColumn('mls_epoch', 'bigint').execute();
      await db.schema.alterTable('messages').addColumn('edit_of', 'varchar(64)').execute();
      await db.schema.createIndex('messages_edit_of').on('messages').column('edit_of').execute();
      // The last line of defence, below the send path's own checks: no message of an encrypted chat, and no
      // encrypted message, holds text or attachments in clear. A write that would is aborted.
      if (isPostgres(db)) {
        await sql`CREATE FUNCTION parley_no_plaintext_in_e2ee() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            IF (coalesce(NEW.text, '') <> '' OR NEW.attachments IS NOT NULL)
               AND (NEW.kind = 'mls' OR EXISTS (SELECT 1 FROM chats WHERE id = NEW.chat_id AND e2ee = 1)) THEN
              RAISE EXCEPTION 'e2ee_plaintext: message % of an end-to-end encrypted chat would hold plaintext', NEW.id;
            END IF;
            RETURN NEW;
          END $$`.execute(db);
        await sql`CREATE TRIGGER messages_no_plaintext_in_e2ee BEFORE INSERT OR UPDATE OF text, attachments ON messages
          FOR EACH ROW EXECUTE FUNCTION parley_no_plaintext_in_e2ee()`.execute(db);
      } else {
        const when = sql.raw(`(coalesce(new.text, '') <> '' OR new.attachments IS NOT NULL)
          AND (new.kind = 'mls' OR (SELECT e2ee FROM chats WHERE id = new.chat_id) = 1)`);
        for (const [name, event] of [
          ['messages_no_plaintext_in_e2ee_insert', 'INSERT'],
          ['messages_no_plaintext_in_e2ee_update', 'UPDATE OF text, attachments'],
        ] as const) {
          await sql`CREATE TRIGGER ${sql.raw(name)} BEFORE ${sql.raw(event)} ON messages WHEN ${when} BEGIN
            SELECT RAISE(ABORT, 'e2ee_plaintext: a message of an end-to-end encrypted chat would hold plaintext');
          END`.execute(db);
        }
      }
    },
    async down(db: Kysely<unknown>) {
      if (isPostgres(db)) {
        await sql`DROP TRIGGER messages_no_plaintext_in_e2ee ON messages`.execute(db);
        await sql`DROP FUNCTION parley_no_plaintext_in_e2ee()`.execute(db);
      } else {
        for (const name of ['messages_no_plaintext_in_e2ee_insert', 'messages_no_plaintext_in_e2ee_update'])
          await sql`DROP TRIGGER ${sql.raw(name)}`.execute(db);
      }
      await db.schema.dropIndex('messages_edit_of').execute();
      await db.schema.alterTable('messages').dropColumn('edit_of').execute();
      await db.schema.alterTable('messages').dropColumn('mls_epoch').execute();
      await db.schema.alterTable('messages').dropColumn('ciphertext').execute();
    },
  },
  '015_device_links': deviceLinks015,
  '016_invite_uses': {
    // Who registered with an invite, for its creator and the admins. A deleted account keeps its row
    // (accounts are emptied, not removed); an invite's rows go with it.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('invite_uses')
        .addColumn('invite_id', 'varchar(64)', (c) => c.notNull().references('invites.id').onDelete('cascade'))
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('used_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('invite_uses_pk', ['invite_id', 'user_id'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('invite_uses').execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
