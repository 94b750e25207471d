/** The store cannot be reached (connection refused, reset, timed out): worth retrying shortly. */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super('The database is unreachable, try again shortly', { cause });
    this.name = 'StoreUnavailableError';
  }
}
