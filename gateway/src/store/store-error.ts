// Errors the store reports to its caller and, through the composition root, to the operator:
// a stable code, what failed and what to do. Never carries a secret (no token, no password
// from a PostgreSQL URL, no cookie id).

/** Every store error code. To be listed in docs/errors.md with the gateway's other codes. */
export const STORE_ERROR_CODES = [
  'GW_ERR_STORE_CONFIG',
  'GW_ERR_STORE_UNAVAILABLE',
  'GW_ERR_STORE_MIGRATION',
  'GW_ERR_AUDIT_WRITE_FAILED',
  'GW_ERR_AUDIT_INVALID_EVENT',
] as const;

export type StoreErrorCode = (typeof STORE_ERROR_CODES)[number];

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(readonly code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isStoreError(value: unknown): value is StoreError {
  return value instanceof StoreError;
}

/** The cause's message, for joining into ours (drivers throw non-Errors now and then). */
export function reason(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message;
  }
  return String(cause);
}
