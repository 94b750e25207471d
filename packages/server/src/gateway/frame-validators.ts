import { Ajv } from 'ajv';
import type { TObject } from 'typebox';
import { Id } from '@parley/protocol';
import { AppError } from '../errors.ts';

const ajv = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: false, strict: false });

/**
 * A validator for a socket request made of an HTTP body schema plus path params (`chatId`), so a
 * frame is held to exactly the rules of the matching HTTP operation.
 */
export function compileFrameValidator(body: TObject | undefined, params: string[] = []): (input: unknown) => void {
  const schema = {
    type: 'object',
    additionalProperties: false,
    required: [...((body?.required as string[] | undefined) ?? []), ...params],
    properties: { ...(body?.properties ?? {}), ...Object.fromEntries(params.map((p) => [p, Id])) },
  };
  const validate = ajv.compile(schema);
  return (input) => {
    if (validate(input)) return;
    const first = validate.errors?.[0];
    const field = first?.instancePath ? first.instancePath.slice(1) : (first?.params as { missingProperty?: string; additionalProperty?: string })?.missingProperty ?? (first?.params as { additionalProperty?: string })?.additionalProperty ?? '';
    throw new AppError('invalid_request', `Invalid frame: ${field ? `"${field}" ` : ''}${first?.message ?? 'is invalid'}`);
  };
}
