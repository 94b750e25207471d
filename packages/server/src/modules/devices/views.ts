import type { Device, DeviceList, Identity } from '@parley/protocol';
import type { DeviceListsTable, DevicesTable, IdentitiesTable } from '../../adapters/db/schema.ts';
import { iso, isoOrNull } from '../../lib/time.ts';

export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

export function toIdentity(row: IdentitiesTable): Identity {
  return { userId: row.user_id, publicKey: b64(row.public_key), version: row.version, createdAt: iso(row.created_at), updatedAt: iso(row.updated_at) };
}

/** A device as the wire shows it; the link commitment only to its own user. */
export function toDevice(row: DevicesTable, options: { own: boolean }): Device {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    status: row.status,
    signatureKey: b64(row.signature_key),
    cert: row.cert ? b64(row.cert) : null,
    ...(options.own ? { linkCommitment: row.link_commitment ? b64(row.link_commitment) : null } : {}),
    createdAt: iso(row.created_at),
    approvedAt: isoOrNull(row.approved_at),
  };
}

export function toDeviceList(row: DeviceListsTable): DeviceList {
  return { version: Number(row.version), data: b64(row.data), createdAt: iso(row.created_at) };
}
