import type { Me, User } from '@parley/protocol';
import type { UsersTable } from '../../adapters/db/schema.ts';
import { iso } from '../../lib/time.ts';

export const DELETED_NAME = 'Deleted account';

export function toMe(row: UsersTable): Me {
  return {
    id: row.id,
    username: row.username ?? '',
    displayName: row.display_name,
    isAdmin: row.is_admin === 1,
    addPolicy: row.add_policy,
    avatarFileId: row.avatar_file_id,
    createdAt: iso(row.created_at),
  };
}

export function toUser(row: Pick<UsersTable, 'id' | 'username' | 'display_name' | 'deleted_at' | 'avatar_file_id'>): User {
  const deleted = row.deleted_at !== null;
  return {
    id: row.id,
    username: deleted ? null : row.username,
    displayName: deleted ? DELETED_NAME : row.display_name,
    deleted,
    avatarFileId: deleted ? null : row.avatar_file_id,
  };
}
