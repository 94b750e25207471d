/** A failed API call: the server's error code and message, and the HTTP status (0 when the network failed). */
export class ParleyError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryAfter?: number;

  constructor(code: string, message: string, status: number, retryAfter?: number) {
    super(message);
    this.name = 'ParleyError';
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}
