import type { Session } from '@parley/protocol';
import type { SessionsTable } from '../../adapters/db/schema.ts';

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function toSession(row: SessionsTable, currentId: string): Session {
  return {
    id: row.id,
    deviceName: row.device_name,
    createdAt: iso(row.created_at),
    lastActiveAt: iso(row.last_seen_at),
    ip: row.ip,
    userAgent: row.user_agent,
    current: row.id === currentId,
  };
}
