import { ERROR_STATUS, type ErrorCode } from '@parley/protocol';

/** The one error class: expected failures throw it; anything else becomes a 500. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.headers = headers;
  }
}

export function notFound(what: string): AppError {
  return new AppError('not_found', `${what} was not found`);
}
