import { toStoreError } from '../adapters/db/database.ts';
import { StoreUnavailableError } from '../adapters/db/store-errors.ts';
import { AppError } from '../lib/errors.ts';

/** What a failed socket request tells the client: expected failures as they are, the rest hidden. */
export function frameError(err: unknown): { known: boolean; error: { code: string; message: string } } {
  if (err instanceof AppError) return { known: true, error: { code: err.code, message: err.message } };
  const stored = toStoreError(err);
  if (stored instanceof StoreUnavailableError) return { known: true, error: { code: 'service_unavailable', message: stored.message } };
  return { known: false, error: { code: 'internal_error', message: 'Something went wrong on the server' } };
}
