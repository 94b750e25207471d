import { describe, expect, it } from 'vitest';
import { boundIntegers, createValidator } from './validator.ts';

describe('createValidator()', () => {
  const validate = createValidator({ coerceTypes: false, useDefaults: false })({
    type: 'object',
    properties: { seq: { type: 'integer', minimum: 0 }, small: { type: 'integer', maximum: 10 } },
  });

  it('refuses Infinity, which JSON.parse makes of 1e999', () => {
    expect(validate(JSON.parse('{"seq": 1e999}'))).toBe(false);
  });

  it('refuses an integer no database column and no JavaScript number holds exactly', () => {
    expect(validate({ seq: 2 ** 53 })).toBe(false);
    expect(validate({ seq: Number.MAX_SAFE_INTEGER })).toBe(true);
  });

  it('keeps a maximum the schema sets itself', () => {
    expect(validate({ small: 11 })).toBe(false);
    expect(validate({ small: 10 })).toBe(true);
  });
});

describe('boundIntegers()', () => {
  it('bounds integers at any depth and leaves the original schema as it was', () => {
    const schema = { type: 'object', additionalProperties: { type: 'integer' }, properties: { list: { type: 'array', items: { type: 'integer' } } } };
    const bounded = boundIntegers(schema);
    expect(bounded.additionalProperties).toEqual({ type: 'integer', maximum: Number.MAX_SAFE_INTEGER });
    expect(bounded.properties.list.items).toEqual({ type: 'integer', maximum: Number.MAX_SAFE_INTEGER });
    expect(schema.additionalProperties).toEqual({ type: 'integer' });
  });
});
