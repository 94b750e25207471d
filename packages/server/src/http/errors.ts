import type { FastifyReply, FastifyRequest } from 'fastify';
import { toStoreError } from '../adapters/db/database.ts';
import { StoreUnavailableError } from '../adapters/db/store-errors.ts';
import { AppError } from '../lib/errors.ts';
import { BODY_LIMIT, PUBLIC_BODY_LIMIT } from './constants.ts';

export function sendError(reply: FastifyReply, err: AppError): FastifyReply {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply
    .status(err.status)
    .type('application/json')
    .send({ error: { code: err.code, message: err.message } });
}

interface ValidationIssue {
  keyword?: string;
  instancePath?: string;
  message?: string;
  params: { additionalProperty?: string; missingProperty?: string; type?: string };
}

/** A schema failure as one sentence naming the field. */
function validationDetail(first: ValidationIssue | undefined): string {
  const field = first?.instancePath ? first.instancePath.slice(1).replace(/\//g, '.') : '';
  const prefix = field ? `${field}.` : '';
  switch (first?.keyword) {
    case 'additionalProperties':
      return `unknown field "${prefix}${first.params.additionalProperty}"`;
    case 'required':
      return `missing field "${prefix}${first.params.missingProperty}"`;
    case 'type':
      if (!field) return `must be a JSON ${first.params.type}`;
  }
  return `${field ? `"${field}" ` : ''}${first?.message ?? 'is invalid'}`;
}

/** Fastify's own errors that a client caused, by code. */
const FRAMEWORK_ERRORS: Record<string, () => AppError> = {
  FST_ERR_BAD_URL: () => new AppError('invalid_request', 'The URL is not validly encoded'),
  FST_ERR_MAX_PARAM_LENGTH: () => new AppError('invalid_request', 'A part of the URL is too long'),
  FST_ERR_CTP_BODY_TOO_LARGE: () =>
    new AppError('body_too_large', `The request body is over this operation's limit (${BODY_LIMIT} bytes, ${PUBLIC_BODY_LIMIT} without a session)`),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new AppError('unsupported_media_type', 'The request body must be application/json'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new AppError('invalid_json', 'The request body is empty but its type is application/json'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new AppError('invalid_request', 'The Content-Length header does not match the body'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new AppError('invalid_json', 'The request body is not valid JSON'),
};

/** Turns whatever was thrown into the one error shape; unknown errors are logged and hidden. */
export function toAppError(err: unknown, req: FastifyRequest): AppError {
  if (err instanceof AppError) return err;
  // Reads outside a transaction reach here with the driver's own error.
  const stored = toStoreError(err);
  if (stored instanceof StoreUnavailableError) return new AppError('service_unavailable', stored.message);
  const e = (err ?? {}) as { validation?: ValidationIssue[]; validationContext?: string; code?: string; statusCode?: number };
  if (e.validation) return new AppError('invalid_request', `Invalid ${e.validationContext ?? 'request'}: ${validationDetail(e.validation[0])}`);
  const known = e.code ? FRAMEWORK_ERRORS[e.code] : undefined;
  if (known) return known();
  if (err instanceof SyntaxError) return new AppError('invalid_json', 'The request body is not valid JSON');
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return new AppError('invalid_request', 'The request is malformed');
  req.log.error({ err }, 'request failed');
  return new AppError('internal_error', 'Something went wrong on the server');
}
