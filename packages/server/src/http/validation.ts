import type { ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { createValidator } from '../lib/validator.ts';

// Bodies are validated strictly: no type coercion, no silently dropped fields.
const bodies = createValidator({ coerceTypes: false, useDefaults: false });
// Path params and query strings arrive as text, so numbers there are coerced.
const textual = createValidator({ coerceTypes: true, useDefaults: true });

const cache = new WeakMap<object, ValidateFunction>();

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodies : textual;
  let validate = cache.get(schema as object);
  if (!validate || httpPart !== 'body') validate = ajv(schema as object);
  if (httpPart === 'body') cache.set(schema as object, validate);
  return validate as ReturnType<FastifySchemaCompiler<unknown>>;
};
