/**
 * Why an E2EE operation was refused. Codes are stable strings a caller can branch on; none of them is a
 * transient network failure (those stay ParleyError).
 */
export type E2eeErrorCode =
  | 'e2ee_malformed'
  | 'e2ee_bad_signature'
  | 'e2ee_untrusted_device'
  | 'e2ee_device_list_rollback'
  | 'e2ee_device_list_fork'
  | 'e2ee_device_list_gap'
  | 'e2ee_recovery_key_invalid'
  | 'e2ee_recovery_failed'
  | 'e2ee_payload_too_large'
  | 'mls_policy_violation'
  | 'mls_resync_no_leaf'
  | 'mls_unexpected_message'
  | 'mls_process_failed'
  | 'e2ee_identity_missing'
  | 'e2ee_device_pending'
  | 'e2ee_sender_mismatch'
  | 'e2ee_send_failed'
  | 'e2ee_link_failed'
  | 'e2ee_chat_blocked'
  | 'e2ee_identity_changed';

/** A refused E2EE operation, e.g. `new E2eeError('e2ee_bad_signature', 'Device certificate signature does not verify')`. */
export class E2eeError extends Error {
  readonly code: E2eeErrorCode;

  constructor(code: E2eeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'E2eeError';
    this.code = code;
  }
}
