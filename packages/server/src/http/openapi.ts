import type { TSchema } from 'typebox';
import * as protocol from '@parley/protocol';
import { api, ERROR_STATUS, type Endpoint, type ErrorCode } from '@parley/protocol';

/**
 * The protocol's objects that the document names in components.schemas, so that generated clients
 * get `Chat`, `Message`… instead of one anonymous type per use.
 */
const NAMED = [
  'Me',
  'User',
  'SessionTokens',
  'Session',
  'Chat',
  'Member',
  'ChatInvitation',
  'Identity',
  'Device',
  'DeviceList',
  'ClaimedKeyPackage',
  'Attachment',
  'AttachmentInput',
  'InviteUse',
  'Invite',
  'Limits',
  'Reaction',
  'Forwarded',
  'Message',
  'CallRecord',
  'ChatNotice',
  'PushConfig',
  'ChatEvent',
  'UserEvent',
  'SyncEvent',
  'Changes',
  'Presence',
  'AdminAccount',
  'ServerStatus',
  'ErrorBody',
] as const;

type Json = Record<string, unknown>;
interface Document {
  paths: Record<string, Record<string, Json>>;
  components?: { schemas?: Record<string, unknown> } & Json;
  servers?: { url: string; description?: string }[];
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A schema as the document holds it (plain JSON), without its description, keys sorted: what equal schemas share. */
function shape(v: unknown): string {
  // @fastify/swagger writes `const: x` as `enum: [x]`.
  const sorted = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sorted);
    if (!isObject(x)) return x;
    const { const: c, ...rest } = x;
    const o: Json = c === undefined ? x : { ...rest, enum: [c] };
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, sorted(o[k])]),
    );
  };
  const { description: _d, ...rest } = JSON.parse(JSON.stringify(v)) as Json;
  return JSON.stringify(sorted(rest));
}

/** Replaces every schema equal to a named one with a $ref to it, outermost first (`skip`: the root itself). */
function useRefs(node: unknown, names: Map<string, string>, skip?: string): unknown {
  if (Array.isArray(node)) return node.map((n) => useRefs(n, names));
  if (!isObject(node)) return node;
  const name = names.get(shape(node));
  if (name && name !== skip) {
    const ref: Json = { $ref: `#/components/schemas/${name}` };
    // A use may say what it is for; the named schema says what it is.
    return typeof node.description === 'string' ? { ...ref, description: node.description } : ref;
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, useRefs(v, names)]));
}

/** The sentence an example of an error carries: the code, said in words. */
const exampleMessage = (code: string) => code.charAt(0).toUpperCase() + code.slice(1).replaceAll('_', ' ');

/** An operation's errors by the status each travels with. */
function errorsByStatus(e: Endpoint): Map<number, ErrorCode[]> {
  const by = new Map<number, ErrorCode[]>();
  // Every operation can get a malformed request.
  for (const code of new Set<ErrorCode>(['invalid_request', ...e.errors])) {
    const status = ERROR_STATUS[code];
    by.set(status, [...(by.get(status) ?? []), code]);
  }
  return by;
}

/**
 * Completes the OpenAPI document that @fastify/swagger builds from the routes: a `servers` entry,
 * named component schemas referenced where they are used, and for every operation one response per
 * error status it can answer, with an example of each error code.
 */
export function completeOpenApi(doc: Document): Document {
  const names = new Map<string, string>();
  const schemas: Record<string, unknown> = {};
  for (const name of NAMED) names.set(shape((protocol as unknown as Record<string, TSchema>)[name]), name);
  for (const name of NAMED) schemas[name] = useRefs(JSON.parse(JSON.stringify((protocol as unknown as Record<string, TSchema>)[name])), names, name);

  const byOperation = new Map(Object.values(api).map((e) => [e.id, e as Endpoint]));
  const paths: Document['paths'] = {};
  for (const [path, item] of Object.entries(doc.paths)) {
    paths[path] = {};
    for (const [method, operation] of Object.entries(item)) {
      const op = useRefs(operation, names) as Json;
      const e = typeof op.operationId === 'string' ? byOperation.get(op.operationId) : undefined;
      if (e) {
        const responses = { ...(op.responses as Json) };
        for (const [status, codes] of errorsByStatus(e)) {
          responses[String(status)] = {
            description: codes.map((c) => `\`${c}\``).join(', '),
            content: {
              'application/json': {
                schema: { $ref: '#/components/schemas/ErrorBody' },
                examples: Object.fromEntries(codes.map((code) => [code, { value: { error: { code, message: exampleMessage(code) } } }])),
              },
            },
          };
        }
        op.responses = responses;
      }
      paths[path][method] = op;
    }
  }
  return {
    ...doc,
    // Paths start with /api/v1: the document's own origin is the server.
    servers: [{ url: '/', description: 'The Parley server that serves this document' }],
    paths,
    components: { ...doc.components, schemas: { ...doc.components?.schemas, ...schemas } },
  };
}
