import type { Static, TObject, TSchema } from 'typebox';
import type { ErrorCode } from './errors.ts';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/**
 * One API operation, described once and used by the server (routing, validation, OpenAPI)
 * and by the SDK (typed calls). `path` is relative to `/api/v1` and uses `:name` params.
 */
export interface Endpoint<
  P extends TObject | undefined = TObject | undefined,
  Q extends TObject | undefined = TObject | undefined,
  B extends TObject | undefined = TObject | undefined,
  R extends TSchema | undefined = TSchema | undefined,
> {
  id: string;
  method: HttpMethod;
  path: string;
  summary: string;
  tag: string;
  /** false for the few operations that work without a session (register, login, refresh) */
  auth: boolean;
  params?: P;
  query?: Q;
  body?: B;
  /** undefined means 204 No Content */
  response?: R;
  /**
   * For an operation that answers with a file instead of JSON (its `response` a `FileResponse`):
   * the media type. The SDK then resolves to the fetch `Response`, to read as a stream.
   */
  produces?: string;
  status?: 200 | 201 | 204;
  errors: readonly ErrorCode[];
}

/** Declares an endpoint while keeping its literal schema types. */
export function endpoint<
  P extends TObject | undefined = undefined,
  Q extends TObject | undefined = undefined,
  B extends TObject | undefined = undefined,
  R extends TSchema | undefined = undefined,
>(e: Endpoint<P, Q, B, R>): Endpoint<P, Q, B, R> {
  return e;
}

type StaticOr<T, Else> = T extends TSchema ? Static<T> : Else;
type Merge<A, B, C> = A & B & C;
/** An input part an endpoint does not have: adds no fields. */
type NoFields = Record<never, never>;
type AnyPart = TObject | undefined;

/** The flat input an SDK call takes: path params, query and body fields together. */
export type InputOf<E> =
  E extends Endpoint<infer P, infer Q, infer B, TSchema | undefined> ? Merge<StaticOr<P, NoFields>, StaticOr<Q, NoFields>, StaticOr<B, NoFields>> : never;

/** What an SDK call resolves to. */
export type OutputOf<E> = E extends Endpoint<AnyPart, AnyPart, AnyPart, infer R> ? StaticOr<R, void> : never;

/**
 * What a client needs of an operation to call it: no schema, so that a client's bundle need not carry
 * the schemas (and their library) that the server validates with. `routes.ts` holds one per operation,
 * generated from the endpoints (`npx tsx scripts/make-routes.ts`; a unit test says when it is stale).
 */
export interface Route {
  id: string;
  method: HttpMethod;
  path: string;
  auth: boolean;
  /** names of the query parameters, in their declared order */
  query: readonly string[];
  /** whether the input's remaining fields go in a JSON body */
  body: boolean;
  /** set for an operation that answers with a file (see `Endpoint.produces`) */
  produces?: string;
}

/** An endpoint's route. */
export function routeOf(e: Endpoint): Route {
  return {
    id: e.id,
    method: e.method,
    path: e.path,
    auth: e.auth,
    query: Object.keys(e.query?.properties ?? {}),
    body: e.body !== undefined,
    ...(e.produces ? { produces: e.produces } : {}),
  };
}
