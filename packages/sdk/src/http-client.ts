import type { Api, FileBody, InputOf, OutputOf, Route, SessionTokens } from '@parley/protocol';
import { FILES_PATH } from '@parley/protocol/constants';
import { routes } from '@parley/protocol/routes';
import { ParleyError } from './errors.ts';

export interface ClientOptions {
  /** Server origin, e.g. `http://127.0.0.1:8080` */
  baseUrl: string;
  /** Tokens of a session stored earlier (e.g. from localStorage) */
  session?: SessionTokens | null;
  /** Called whenever the tokens change (login, refresh, logout), to persist them */
  onSession?: (session: SessionTokens | null) => void;
  fetch?: typeof fetch;
  /** Sent as User-Agent where the platform allows it (Node) */
  userAgent?: string;
  /**
   * For several clients sharing one session (browser tabs): runs a token refresh while holding a
   * lock they all share, e.g. `(fn) => navigator.locks.request('parley-refresh', fn)`. With
   * `loadSession`, a client that waited for the lock first takes the tokens another one stored
   * meanwhile, instead of presenting a refresh token that is already spent (which ends the session).
   */
  exclusive?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Reads the tokens as last stored by any client of the session (see `exclusive`). */
  loadSession?: () => SessionTokens | null;
}

/** An input with no required field: the call may omit it. */
type NoFields = Record<never, never>;
/** What a call resolves to: the parsed body, or for an operation that sends a file the Response, to read as a stream. */
type Result<E> = OutputOf<E> extends FileBody ? Response : OutputOf<E>;
type Call<E> = NoFields extends InputOf<E> ? (input?: InputOf<E>) => Promise<Result<E>> : (input: InputOf<E>) => Promise<Result<E>>;

/** One typed method per API operation, named by its operationId. */
export type ApiMethods = { [K in keyof Api]: Call<Api[K]> };

const NO_REFRESH = new Set(['login', 'register', 'refreshSession']);

/**
 * The HTTP client. Every operation of the API is a method (see `ParleyClient` below for the type):
 * @example
 *   const client = new ParleyClient({ baseUrl: 'http://127.0.0.1:8080' });
 *   await client.login({ username: 'alice', password: '…', deviceName: 'laptop' });
 *   const me = await client.getMe();
 */
class HttpClient {
  readonly baseUrl: string;
  private tokens: SessionTokens | null;
  private readonly onSession?: (session: SessionTokens | null) => void;
  private readonly fetchImpl: typeof fetch;
  private readonly userAgent?: string;
  private refreshing: Promise<void> | null = null;
  private readonly exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
  private readonly loadSession?: () => SessionTokens | null;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/$/, '');
    this.tokens = options.session ?? null;
    this.onSession = options.onSession;
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.userAgent = options.userAgent;
    this.exclusive = options.exclusive ?? ((fn) => fn());
    this.loadSession = options.loadSession;
    // One method per operation, typed by ApiMethods below; called by its route (the schemas stay on the server).
    const methods = this as unknown as Record<string, (input?: object) => Promise<unknown>>;
    for (const [name, r] of Object.entries(routes)) methods[name] = (input) => this.call(r, input ?? {});
  }

  /** The current session's tokens, or null when signed out. */
  get session(): SessionTokens | null {
    return this.tokens;
  }

  setSession(session: SessionTokens | null): void {
    this.tokens = session;
    this.onSession?.(session);
  }

  /** Refreshes the tokens if the access token expires within `marginMs`. */
  async ensureFresh(marginMs = 60_000): Promise<void> {
    if (this.tokens && Date.parse(this.tokens.accessTokenExpiresAt) - Date.now() < marginMs) await this.refresh();
  }

  /** Rotates the tokens once, even when several calls (or several clients of the session) ask at the same time. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      const spent = this.tokens?.refreshToken;
      try {
        await this.exclusive(async () => {
          // Another client of this session may have rotated the tokens while this one waited.
          const stored = this.loadSession?.();
          if (stored && stored.refreshToken !== spent) {
            this.tokens = stored;
            return;
          }
          const refreshToken = this.tokens?.refreshToken;
          if (!refreshToken) throw new ParleyError('unauthorized', 'Not signed in', 401);
          await this.call(routes.refreshSession, { refreshToken });
        });
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /**
   * Downloads a file (GET /api/v1/files/:fileId), whole or a byte range; the body is the Response's.
   * @example const res = await client.downloadFile(fileId, { range: { start: 0, end: 1023 } }); // 206
   */
  async downloadFile(fileId: string, options: { range?: { start: number; end?: number } } = {}, retried = false): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.tokens) headers.authorization = `Bearer ${this.tokens.accessToken}`;
    if (this.userAgent) headers['user-agent'] = this.userAgent;
    if (options.range) headers.range = `bytes=${options.range.start}-${options.range.end ?? ''}`;
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.baseUrl}${FILES_PATH}/${encodeURIComponent(fileId)}`, { headers });
    } catch (err) {
      throw new ParleyError('network_error', `Could not reach the server: ${(err as Error).message}`, 0);
    }
    if (res.ok) return res;
    const body = await res.json().catch(() => null);
    const code = body?.error?.code ?? 'http_error';
    if (res.status === 401 && !retried && this.tokens && code === 'unauthorized') {
      await this.refresh();
      return this.downloadFile(fileId, options, true);
    }
    throw new ParleyError(code, body?.error?.message ?? `Download failed with status ${res.status}`, res.status);
  }

  /** Calls one operation by its route; `ApiMethods` gives each method its types. */
  async call<T>(e: Route, input: object, retried = false): Promise<T> {
    const values = { ...(input as Record<string, unknown>) };
    let path = e.path.replace(/:([A-Za-z]+)/g, (_, name: string) => {
      const v = values[name];
      delete values[name];
      return encodeURIComponent(String(v));
    });
    const query = new URLSearchParams();
    for (const key of e.query) {
      if (values[key] !== undefined) query.set(key, String(values[key]));
      delete values[key];
    }
    if ([...query.keys()].length > 0) path += `?${query}`;

    const headers: Record<string, string> = {};
    if (e.body) headers['content-type'] = 'application/json';
    if (e.auth && this.tokens) headers.authorization = `Bearer ${this.tokens.accessToken}`;
    if (this.userAgent) headers['user-agent'] = this.userAgent;

    let res: Response;
    try {
      res = await this.fetchImpl(`${this.baseUrl}/api/v1${path}`, {
        method: e.method,
        headers,
        body: e.body ? JSON.stringify(values) : undefined,
      });
    } catch (err) {
      throw new ParleyError('network_error', `Could not reach the server: ${(err as Error).message}`, 0);
    }
    if (res.status === 204) {
      if (e.id === 'logout') this.setSession(null);
      return undefined as T;
    }
    // A file (a data export): the caller reads the body as it arrives.
    if (e.produces && res.ok) return res as T;
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const code = body?.error?.code ?? 'http_error';
      if (res.status === 401 && e.auth && !retried && this.tokens && !NO_REFRESH.has(e.id) && code === 'unauthorized') {
        try {
          await this.refresh();
        } catch {
          this.setSession(null);
          throw new ParleyError(code, body?.error?.message ?? 'Unauthorized', 401);
        }
        return this.call<T>(e, input, true);
      }
      if (e.id === 'refreshSession' && res.status === 401) this.setSession(null);
      const retryAfter = res.headers.get('retry-after');
      throw new ParleyError(code, body?.error?.message ?? `Request failed with status ${res.status}`, res.status, retryAfter ? Number(retryAfter) : undefined);
    }
    if (e.id === 'login' || e.id === 'refreshSession') this.setSession(body as SessionTokens);
    return body as T;
  }
}

/** The client with its methods: those are attached in the constructor from the descriptors. */
export type ParleyClient = HttpClient & ApiMethods;
export const ParleyClient = HttpClient as new (options: ClientOptions) => ParleyClient;
