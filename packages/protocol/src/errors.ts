import { Type, type Static } from 'typebox';

/** Every error code the API can return, with the HTTP status it travels with. */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_json: 400,
  body_too_large: 413,
  unsupported_media_type: 415,
  unauthorized: 401,
  invalid_credentials: 401,
  refresh_token_invalid: 401,
  refresh_token_reused: 401,
  account_disabled: 403,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  username_taken: 409,
  invite_invalid: 400,
  invite_expired: 400,
  invite_revoked: 400,
  invite_used_up: 400,
  invite_limit_reached: 429,
  rate_limited: 429,
  chat_limit_reached: 409,
  member_limit_reached: 409,
  already_member: 409,
  too_many_reactions: 409,
  call_exists: 409,
  callee_busy: 409,
  call_not_ringing: 409,
  not_member: 404,
  cannot_post: 403,
  message_too_long: 400,
  file_too_large: 413,
  too_many_uploads: 429,
  attachment_unavailable: 410,
  range_not_satisfiable: 416,
  upload_offset_conflict: 409,
  tus_version_unsupported: 412,
  identity_exists: 409,
  identity_required: 409,
  device_exists: 409,
  device_key_taken: 409,
  device_not_active: 409,
  device_not_pending: 409,
  device_list_conflict: 409,
  key_package_invalid: 400,
  too_many_key_packages: 409,
  mls_commit_invalid: 400,
  mls_epoch_conflict: 409,
  e2ee_required: 409,
  not_e2ee: 409,
  mls_message_invalid: 400,
  mls_commit_required: 409,
  mls_not_in_group: 403,
  internal_error: 500,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const ErrorBody = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({ description: 'Stable snake_case error code, e.g. `invalid_credentials`' }),
        message: Type.String({ description: 'Human-readable sentence describing what failed' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: 'The error shape of every failed request' },
);
export type ErrorBody = Static<typeof ErrorBody>;
