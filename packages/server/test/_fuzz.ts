// Generators for the fuzz suite: JSON text (not values, so 1e999, duplicate keys and raw control
// characters can be written), path segments, query strings and headers, driven by the protocol's schemas.
import fc from 'fast-check';

/** A JSON schema as the protocol's TypeBox schemas are at runtime. */
export interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  patternProperties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
}

/** Valid values made from real data (ids of existing chats, messages, users), by field or param name: raw strings. */
export type Pools = Record<string, readonly string[]>;

const q = (s: string) => JSON.stringify(s);

/** Shown in a counterexample instead of the whole value: a 70,000-character string is not read by anyone. */
export function short(text: string, max = 300): string {
  return text.length <= max ? text : `${text.slice(0, max)}…(${text.length} chars)`;
}

/** Gives a generated value a readable, bounded form in fast-check's report. */
export function labelled<T extends object>(value: T, label: string): T {
  Object.defineProperty(value, fc.toStringMethod, { value: () => label, enumerable: false });
  return value;
}

// Strings a server meets from hostile or careless clients. Serialised with JSON.stringify, so lone
// surrogates and NUL are sent escaped (\ud800, \u0000) and reach the server as those code units.
export const EDGE_STRINGS: readonly string[] = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  'x\ud800y',
  '\udc00\ud800',
  '\u202e',
  '\u202egnp.exe',
  '\u2066\u2067\u2068\u2069',
  '\u200b',
  '\ufeff',
  '\uffff',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e999',
  '-0',
  'null',
  'undefined',
  'true',
  '0x1F',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  '../../etc/passwd',
  '%00',
  '%',
  '<script>alert(1)</script>',
  "'; drop table users; --",
  'e\u0301',
  '😀',
  '\n\r\t',
  'İß',
  'Ａ',
  'a'.repeat(64),
  'a'.repeat(65),
  'a'.repeat(129),
  'a'.repeat(257),
  'x'.repeat(4097),
  '😀'.repeat(4097),
  'x'.repeat(70_000),
  'é'.repeat(40_000),
];

/** Numbers as JSON text: boundaries, fractions, beyond the safe integers, and past a double (1e999). */
export const EDGE_NUMBERS: readonly string[] = [
  '0',
  '-0',
  '1',
  '-1',
  '0.5',
  '1.5',
  '-1.5',
  '1.0',
  '2',
  '59',
  '60',
  '100',
  '101',
  '1000',
  '1001',
  '5000',
  '5001',
  '65536',
  '2147483647',
  '2147483648',
  '-2147483649',
  '4294967296',
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '-9007199254740993',
  '31536001',
  '1e20',
  '1e308',
  '1e999',
  '-1e999',
  '1E+400',
  '1e-400',
  '123456789012345678901234567890',
];

/** Values of the wrong type, as JSON text. */
const WRONG_TYPES: readonly string[] = ['null', 'true', 'false', '[]', '{}', '[1]', '[null]', '{"a":1}', '""', '"1"', '0', '[[]]', '[{}]'];

/** Nested arrays or objects, deeper than any parser or validator should recurse on a stack. */
export const deep = (depth: number, kind: 'array' | 'object'): string =>
  kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

const deepArb: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(100, 1000, 10_000, 100_000), fc.constantFrom<'array' | 'object'>('array', 'object'))
  .map(([d, k]) => deep(d, k));

const edgeString = fc.constantFrom(...EDGE_STRINGS).map(q);
const edgeNumber = fc.constantFrom(...EDGE_NUMBERS);
const wrongType = fc.constantFrom(...WRONG_TYPES);

/** A string written into the JSON without escaping: raw control characters make it invalid JSON. */
const unescaped = fc.constantFrom('a\u0000b', 'tab\there', 'line\nbreak', '\u0001', '\u001f').map((s) => `"${s}"`);

/** Any JSON value, small. */
const anyJson: fc.Arbitrary<string> = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null');

function withPattern(s: Schema): fc.Arbitrary<string> {
  const min = s.minLength ?? 0;
  const max = Math.min(s.maxLength ?? 40, 40);
  if (s.pattern === '^[A-Za-z0-9_-]+$' || s.pattern === '^[A-Za-z0-9_-]{1,64}$')
    return fc.string({ unit: fc.constantFrom(...'abcXYZ019_-'), minLength: Math.max(min, 1), maxLength: max });
  if (s.pattern === '^[A-Za-z0-9_]+$') return fc.string({ unit: fc.constantFrom(...'abcxyz019_'), minLength: Math.max(min, 3), maxLength: max });
  return fc.string({ minLength: min, maxLength: max });
}

/** A value the schema accepts, as JSON text; `name` picks real data where there is some. */
export function validValue(s: Schema, name: string, pools: Pools): fc.Arbitrary<string> {
  const pool = pools[name];
  // Free text of an allowed length may still be odd: NUL, lone surrogates, bidi controls, combining marks.
  const oddButAllowed =
    s.type === 'string' && !s.pattern ? EDGE_STRINGS.filter((x) => x.length >= (s.minLength ?? 0) && x.length <= (s.maxLength ?? Infinity)) : [];
  const odd = oddButAllowed.length > 0 ? [{ arbitrary: fc.constantFrom(...oddButAllowed).map(q), weight: 2 }] : [];
  if (pool && pool.length > 0) {
    if (s.type === 'array') return fc.subarray([...pool], { minLength: Math.max(s.minItems ?? 0, 1) }).map((xs) => JSON.stringify(xs));
    return fc.oneof({ arbitrary: fc.constantFrom(...pool).map(q), weight: 3 }, ...odd);
  }
  if (odd.length > 0) return fc.oneof({ arbitrary: withPattern(s).map(q), weight: 3 }, ...odd);
  if (s.const !== undefined) return fc.constant(JSON.stringify(s.const));
  if (s.anyOf) return fc.oneof(...s.anyOf.map((a) => validValue(a, name, pools)));
  if (s.enum) return fc.constantFrom(...s.enum.map((e) => JSON.stringify(e)));
  switch (s.type) {
    case 'string':
      return withPattern(s).map(q);
    case 'integer':
      return fc.integer({ min: s.minimum ?? -1000, max: Math.min(s.maximum ?? 1000, 1000) }).map(String);
    case 'boolean':
      return fc.boolean().map(String);
    case 'array': {
      const item = validValue(s.items ?? {}, `${name}[]`, pools);
      return fc.uniqueArray(item, { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 5, 5) }).map((xs) => `[${xs.join(',')}]`);
    }
    case 'object': {
      if (s.patternProperties) {
        const value = Object.values(s.patternProperties)[0]!;
        const key = pools.chatId && pools.chatId.length > 0 ? fc.constantFrom(...pools.chatId) : withPattern({ pattern: '^[A-Za-z0-9_-]+$' });
        return fc.dictionary(key, validValue(value, 'seq', pools), { maxKeys: 4 }).map((d) => objectText(Object.entries(d)));
      }
      return validObject(s, pools);
    }
  }
  return anyJson;
}

/** A value the schema (probably) refuses, or one at its edges. */
function badValue(s: Schema, name: string, pools: Pools): fc.Arbitrary<string> {
  const forType: fc.Arbitrary<string>[] = [];
  if (s.type === 'integer' || s.type === 'number') forType.push(edgeNumber, edgeNumber, fc.constantFrom('"1"', '"NaN"', '"1e999"', '"Infinity"', '"0x10"'));
  if (s.type === 'string' || s.anyOf) forType.push(edgeString, edgeString, withPattern({ maxLength: 80 }).map(q));
  if (s.type === 'boolean') forType.push(fc.constantFrom('"true"', '0', '1', '"false"', 'null'));
  if (s.type === 'array') {
    const item = s.items ? validValue(s.items, `${name}[]`, pools) : anyJson;
    forType.push(
      // duplicates, too many, wrong items, nested
      fc.array(item, { minLength: 2, maxLength: 4 }).map((xs) => `[${[...xs, ...xs].join(',')}]`),
      fc.constantFrom(1001, 5000).map((n) => JSON.stringify(Array.from({ length: n }, (_, i) => `u${i}`))),
      fc.array(fc.oneof(edgeString, edgeNumber, wrongType), { minLength: 1, maxLength: 4 }).map((xs) => `[${xs.join(',')}]`),
      fc.constant('[[["a"]]]'),
    );
  }
  if (s.type === 'object') {
    forType.push(
      fc
        .array(fc.tuple(fc.oneof(fc.constantFrom(...EDGE_STRINGS.slice(0, 30)), withPattern({ maxLength: 70 })), fc.oneof(edgeNumber, wrongType)), {
          maxLength: 4,
        })
        .map((entries) => objectText(entries)),
      fc.constant('{"__proto__":{"polluted":1}}'),
      fc.constant('{"constructor":{"prototype":{"polluted":1}}}'),
    );
  }
  return fc.oneof(
    { arbitrary: fc.oneof(...(forType.length > 0 ? forType : [edgeString])), weight: 6 },
    { arbitrary: wrongType, weight: 3 },
    { arbitrary: edgeString, weight: 1 },
    { arbitrary: edgeNumber, weight: 1 },
    { arbitrary: unescaped, weight: 1 },
    { arbitrary: deepArb, weight: 1 },
  );
}

export function objectText(entries: readonly (readonly [string, string])[]): string {
  return `{${entries.map(([k, v]) => `${q(k)}:${v}`).join(',')}}`;
}

/** Every required field and some optional ones, each valid. */
function validObject(s: Schema, pools: Pools): fc.Arbitrary<string> {
  const props = Object.entries(s.properties ?? {});
  const required = new Set(s.required ?? []);
  if (props.length === 0) return fc.constant('{}');
  return fc
    .tuple(...props.map(([name, p]) => fc.tuple(required.has(name) ? fc.constant(true) : fc.boolean(), validValue(p, name, pools))))
    .map((values) => objectText(values.flatMap(([keep, v], i) => (keep ? [[props[i]![0], v] as const] : []))));
}

const EXTRA_KEYS = ['extra', 'isAdmin', 'id', 'userId', '__proto__', 'constructor', '', '\u0000', 'a'.repeat(300), '😀'];

/**
 * An object for the schema, each field valid, bad, missing or duplicated, sometimes with extra
 * fields: mostly close enough to valid that the validator's later checks and the handler are reached.
 */
export function fuzzObject(s: Schema, pools: Pools): fc.Arbitrary<string> {
  const props = Object.entries(s.properties ?? {});
  const required = new Set(s.required ?? []);
  type Field = { mode: 'valid' | 'bad' | 'missing' | 'duplicate'; keep: boolean; value: string; other: string };
  const field = (name: string, p: Schema): fc.Arbitrary<Field> =>
    fc.record({
      mode: fc.constantFrom<Field['mode']>(...(['valid', 'valid', 'valid', 'valid', 'bad', 'bad', 'missing', 'duplicate'] as const)),
      keep: fc.boolean(),
      value: validValue(p, name, pools),
      other: badValue(p, name, pools),
    });
  const extra = fc.array(fc.tuple(fc.constantFrom(...EXTRA_KEYS), fc.oneof(anyJson, edgeNumber, edgeString)), { maxLength: 2 });
  return fc
    .tuple(
      fc.tuple(...props.map(([name, p]) => field(name, p))),
      fc.oneof({ arbitrary: fc.constant([] as [string, string][]), weight: 4 }, { arbitrary: extra, weight: 1 }),
    )
    .map(([fields, extras]) => {
      const entries: (readonly [string, string])[] = [];
      fields.forEach((f, i) => {
        const name = props[i]![0];
        if (f.mode === 'missing' || (f.mode === 'valid' && !required.has(name) && !f.keep)) return;
        if (f.mode === 'bad') entries.push([name, f.other]);
        else if (f.mode === 'duplicate') entries.push([name, f.other], [name, f.value]);
        else entries.push([name, f.value]);
      });
      return objectText([...entries, ...extras]);
    });
}

/** A request body for an operation, as JSON text: valid, nearly valid, or not an object, or not JSON at all. */
export function fuzzBody(s: Schema | undefined, pools: Pools): fc.Arbitrary<string> {
  const shaped = s ? fuzzObject(s, pools) : fc.constant('{}');
  const valid = s ? validObject(s, pools) : fc.constant('{}');
  return fc.oneof(
    { arbitrary: valid, weight: 6 },
    { arbitrary: shaped, weight: 10 },
    { arbitrary: shaped.map((o) => `[${o}]`), weight: 1 },
    { arbitrary: fc.oneof(wrongType, edgeString, edgeNumber), weight: 2 },
    { arbitrary: deepArb, weight: 1 },
    { arbitrary: shaped.map((o) => `{"a":${deep(5000, 'array')},"b":${o}}`), weight: 1 },
    {
      arbitrary: fc.constantFrom(
        '',
        ' ',
        '{',
        '{"a":1}}',
        "{'a':1}",
        'nul',
        '{"a":1,}',
        '\u0000',
        '\ufeff{}',
        '{"a":NaN}',
        '{"a":Infinity}',
        '{"a":01}',
        '{"a":.5}',
      ),
      weight: 2,
    },
    { arbitrary: unescaped.map((v) => `{"text":${v}}`), weight: 1 },
  );
}

/** A path segment: real ids mostly, then ids of the right shape that exist nowhere, then odd or broken encodings. */
export function fuzzSegment(name: string, pools: Pools): fc.Arbitrary<string> {
  const real = pools[name] ?? [];
  const odd = fc.constantFrom(
    '%',
    '%zz',
    '%E0%A4%A',
    '%ED%A0%80',
    '%C0%AF',
    '%FF%FE',
    '%00',
    '%2F',
    'a%2Fb',
    '%2E%2E',
    '%20',
    '..',
    '.',
    '',
    '%F0%9F%98%80',
    '__proto__',
    'constructor',
    'hasOwnProperty',
    'a'.repeat(64),
    'a'.repeat(65),
    'a'.repeat(200),
    'a'.repeat(201),
    'a'.repeat(5000),
    encodeUtf8Path('\u202e\u0000x'),
    encodeUtf8Path('😀'.repeat(60)),
    '1e999',
    'NaN',
    '-1',
    'null',
    'me',
    'current',
    'terminate-others',
  );
  return fc.oneof(
    ...(real.length > 0 ? [{ arbitrary: fc.constantFrom(...real).map(encodeURIComponent), weight: 6 }] : []),
    { arbitrary: withPattern({ pattern: '^[A-Za-z0-9_-]+$', minLength: 1, maxLength: 64 }), weight: 2 },
    { arbitrary: odd, weight: 4 },
    { arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeUtf8Path), weight: 1 },
  );
}

/** Percent-encodes every byte of the UTF-8 form (a lone surrogate becomes U+FFFD, as a browser sends it). */
export function encodeUtf8Path(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) => (/[A-Za-z0-9_-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
}

const QUERY_VALUES = [
  '1',
  '0',
  '-1',
  '',
  ' 1',
  '1.5',
  '1e999',
  '1e3',
  'NaN',
  'Infinity',
  '0x10',
  'true',
  'false',
  '9007199254740993',
  '100',
  '101',
  'a',
  '%00',
  '%FF',
  '%',
  '[]',
];
const QUERY_KEYS = ['foo', '__proto__', 'constructor', 'a[b]', 'limit[]', 'before[0]', '', '%00', 'x'.repeat(500)];

/**
 * A query value as it would travel: percent-encoded UTF-8, and a lone surrogate (which
 * encodeURIComponent refuses) as the three bytes a careless client sends for it, invalid UTF-8.
 */
function encodeQueryValue(v: string): string {
  const text = v.startsWith('"') ? (JSON.parse(v) as string) : v;
  return text.replace(/[\s\S]/gu, (ch) => {
    const c = ch.codePointAt(0)!;
    if (c < 0xd800 || c > 0xdfff) return encodeURIComponent(ch);
    return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
  });
}

/** A query string: the operation's own parameters (valid, odd, repeated) and unknown ones. */
export function fuzzQuery(s: Schema | undefined, pools: Pools): fc.Arbitrary<string> {
  const own = Object.entries(s?.properties ?? {});
  const value = (p: Schema, name: string) => fc.oneof(validValue(p, name, pools).map(encodeQueryValue), fc.constantFrom(...QUERY_VALUES));
  const ownPairs =
    own.length > 0 ? fc.array(fc.oneof(...own.map(([name, p]) => value(p, name).map((v) => `${name}=${v}`))), { maxLength: 3 }) : fc.constant([] as string[]);
  const unknownPairs = fc.array(
    fc.tuple(fc.constantFrom(...QUERY_KEYS), fc.constantFrom(...QUERY_VALUES)).map(([k, v]) => `${k}=${v}`),
    { maxLength: 2 },
  );
  return fc.oneof(
    { arbitrary: fc.constant(''), weight: own.length > 0 ? 2 : 6 },
    { arbitrary: ownPairs.map((xs) => xs.join('&')), weight: own.length > 0 ? 6 : 0 },
    { arbitrary: fc.tuple(ownPairs, unknownPairs).map(([a, b]) => [...a, ...b].join('&')), weight: 1 },
    { arbitrary: fc.constantFrom('&', '&&', '=', '==', 'a', 'a=1=2', '%', '?'), weight: 1 },
  );
}

/** A query string of the operation's own parameters, each valid. */
export function validQuery(s: Schema | undefined, pools: Pools): fc.Arbitrary<string> {
  const own = Object.entries(s?.properties ?? {});
  if (own.length === 0) return fc.constant('');
  return fc
    .subarray(own)
    .chain((picked) => fc.tuple(...picked.map(([name, p]) => validValue(p, name, pools).map((v) => `${name}=${encodeQueryValue(v)}`))))
    .map((pairs) => pairs.join('&'));
}

export const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/JSON',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/json, text/plain',
  '',
  'application/jsonx',
] as const;
