import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * The one way request bodies, query strings and frames are validated. Numbers must be finite
 * (`1e999` parses as Infinity, which is no position), and every integer without a maximum of its own
 * gets the largest one JavaScript and both databases hold exactly, so no value reaches a column that cannot keep it.
 */
export function createValidator(options: { coerceTypes: boolean; useDefaults: boolean }): (schema: object) => ValidateFunction {
  const ajv = addFormats(new Ajv({ ...options, removeAdditional: false, allErrors: false, strict: false, strictNumbers: true }));
  return (schema) => ajv.compile(boundIntegers(schema));
}

/** A copy of a JSON schema where every integer has a maximum (Number.MAX_SAFE_INTEGER unless it has one). */
export function boundIntegers<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(boundIntegers) as T;
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) copy[key] = boundIntegers(value);
  if (copy.type === 'integer' && copy.maximum === undefined && copy.exclusiveMaximum === undefined) copy.maximum = Number.MAX_SAFE_INTEGER;
  return copy as T;
}
