/**
 * Errors on the wire: every non-2xx answer is `{ error: { code, message, hint } }` with a code
 * from the registry. The status is the category's (HTTP_STATUS) except for the few codes HTTP
 * has a more precise status for (401, 404, 413, 415). Fastify's own errors (validation, body
 * parsing, bad URLs) are mapped to coded 4xx answers here, so malformed input never gets a 5xx.
 */
import { ERRORS, HTTP_STATUS, WraithError, type ErrorCode } from '@wraith/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorBody } from './dto.js';

/** Codes whose HTTP status is more precise than their category's. */
const STATUS_OVERRIDES: Partial<Record<ErrorCode, number>> = {
  E_ADMIN_AUTH: 401,
  E_API_NOT_FOUND: 404,
  E_TRANSFER_UNKNOWN: 404,
  E_NOT_FOUND: 404,
  E_PERMISSION: 403,
  E_API_BODY_TOO_LARGE: 413,
  E_API_MEDIA_TYPE: 415,
};

export function httpStatusOf(err: WraithError): number {
  return STATUS_OVERRIDES[err.code] ?? HTTP_STATUS[err.category];
}

export function errorBody(err: WraithError): ErrorBody {
  return { error: { code: err.code, message: err.message, hint: err.hint } };
}

export function isKnownCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERRORS, code);
}

/** Fastify's client-side error codes and the registry code each becomes. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'E_API_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'E_API_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'E_API_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'E_API_BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'E_API_BAD_REQUEST',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'E_API_BAD_REQUEST',
  FST_ERR_CTP_EMPTY_TYPE: 'E_API_MEDIA_TYPE',
  FST_ERR_BAD_URL: 'E_API_BAD_REQUEST',
  FST_ERR_VALIDATION: 'E_API_VALIDATION',
};

/** Turns anything thrown while serving a request into a WraithError (and whether it is our fault). */
export function toApiError(e: unknown): { err: WraithError; internal: boolean } {
  if (e instanceof WraithError) return { err: e, internal: e.category === 'internal' };
  const fe = e as Partial<FastifyError> & { validation?: unknown; validationContext?: string };
  if (fe !== null && typeof fe === 'object') {
    if (fe.validation !== undefined) {
      const where = fe.validationContext ?? 'request';
      return { err: new WraithError('E_API_VALIDATION', `invalid ${where}: ${stripContext(fe.message ?? 'does not match the schema', where)}`), internal: false };
    }
    const mapped = typeof fe.code === 'string' ? FASTIFY_CODES[fe.code] : undefined;
    if (mapped !== undefined) return { err: new WraithError(mapped, fe.message ?? mapped), internal: false };
    // A JSON syntax error from the body parser carries statusCode 400 and no FST code.
    const status = fe.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const code: ErrorCode = status === 413 ? 'E_API_BODY_TOO_LARGE' : status === 415 ? 'E_API_MEDIA_TYPE' : status === 404 ? 'E_API_NOT_FOUND' : 'E_API_BAD_REQUEST';
      return { err: new WraithError(code, fe.message ?? `HTTP ${status}`), internal: false };
    }
  }
  const message = e instanceof Error ? e.message : String(e);
  return { err: new WraithError('E_INTERNAL', `admin API: ${message}`), internal: true };
}

function stripContext(message: string, where: string): string {
  return message.startsWith(`${where}/`) || message.startsWith(`${where} `) ? message.slice(where.length + 1) : message;
}

/** Sends the coded error body; used by the error, not-found and framework-error handlers. */
export function sendError(reply: FastifyReply, err: WraithError): FastifyReply {
  const status = httpStatusOf(err);
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="wraith-admin"');
  return reply.code(status).type('application/json; charset=utf-8').send(errorBody(err));
}

/** setErrorHandler: registry errors keep their code, fastify's become coded 4xx, the rest 500. */
export function errorHandler(e: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { err, internal } = toApiError(e);
  if (internal) request.log.error({ err: e }, 'admin API request failed');
  else request.log.debug({ code: err.code }, err.message);
  return sendError(reply, err);
}
