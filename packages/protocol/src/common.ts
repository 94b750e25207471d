import { Type, type Static, type TSchema, type TUnsafe } from 'typebox';

export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'Opaque identifier' });
export const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601 time in UTC' });

/** An object that rejects fields it does not name. */
export function Strict<T extends Record<string, TSchema>>(properties: T, description?: string) {
  return Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) });
}

/** What a file answer stands for in the types: the SDK hands over the fetch `Response` instead of a parsed body. */
export interface FileBody {
  readonly fileBody: true;
}

/**
 * The answer of an operation that sends a file (its bytes, not JSON), for the OpenAPI document.
 * @example response: FileResponse('application/zip', 'A zip of my data'), produces: 'application/zip'
 */
export function FileResponse(mediaType: string, description: string): TUnsafe<FileBody> {
  return Type.Unsafe<FileBody>({ type: 'string', contentMediaType: mediaType, description });
}

/** A member's role in a chat. */
export const Role = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member'), Type.Literal('subscriber')]);
export type Role = Static<typeof Role>;
