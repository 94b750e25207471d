import { Type, type TSchema } from 'typebox';

export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'Opaque identifier' });
export const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601 time in UTC' });

/** An object that rejects fields it does not name. */
export function Strict<T extends Record<string, TSchema>>(properties: T, description?: string) {
  return Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) });
}
