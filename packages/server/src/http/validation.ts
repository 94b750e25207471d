import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

// Bodies are validated strictly: no type coercion, no silently dropped fields.
const bodies = addFormats(new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false, strict: false }));
// Path params and query strings arrive as text, so numbers there are coerced.
const textual = addFormats(new Ajv({ coerceTypes: true, removeAdditional: false, useDefaults: true, allErrors: false, strict: false }));

const cache = new WeakMap<object, ValidateFunction>();

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodies : textual;
  let validate = cache.get(schema as object);
  if (!validate || httpPart !== 'body') validate = ajv.compile(schema as object);
  if (httpPart === 'body') cache.set(schema as object, validate);
  return validate as ReturnType<FastifySchemaCompiler<unknown>>;
};
