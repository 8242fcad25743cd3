// Every error the gateway reports to a peer or an operator is a GatewayError built here:
// a stable code (listed in docs/errors.md), a detail for the log, a separate message that is
// safe to show a user, and how the connection ends (WebSocket close code / HTTP status).
// Pure: builds values, never logs or closes anything itself.

/** Every code, documented in docs/errors.md (a test checks that each one is). */
export const ERROR_CODES = [
  'GW_ERR_RFB_UNKNOWN_MESSAGE_TYPE',
  'GW_ERR_RFB_UNKNOWN_QEMU_SUBTYPE',
  'GW_ERR_RFB_CUT_TEXT_TOO_LARGE',
  'GW_ERR_RFB_TOO_MANY_ENCODINGS',
  'GW_ERR_RFB_MALFORMED_MESSAGE',
  'GW_ERR_RFB_LATE_PIXEL_FORMAT',
  'GW_ERR_RFB_UNFRAMEABLE_SERVER_MESSAGE',
  'GW_ERR_RFB_BAD_VERSION',
  'GW_ERR_RFB_BAD_SECURITY_CHOICE',
  'GW_ERR_RFB_HANDSHAKE_TIMEOUT',
  'GW_ERR_UPSTREAM_UNREACHABLE',
  'GW_ERR_UPSTREAM_TIMEOUT',
  'GW_ERR_UPSTREAM_CLOSED',
  'GW_ERR_UPSTREAM_NOT_RFB',
  'GW_ERR_UPSTREAM_REFUSED',
  'GW_ERR_UPSTREAM_AUTH_FAILED',
  'GW_ERR_UPSTREAM_NO_COMMON_SECURITY',
  'GW_ERR_UPSTREAM_PROTOCOL',
  'GW_ERR_UPSTREAM_TLS',
  'GW_ERR_BROWSER_SLOW',
  'GW_ERR_BROWSER_GONE',
  'GW_ERR_UNKNOWN_TARGET',
  'GW_ERR_ORIGIN_FORBIDDEN',
  'GW_ERR_BAD_PATH',
  'GW_ERR_SHUTTING_DOWN',
  'GW_ERR_TOO_MANY_CONNECTIONS',
  'GW_ERR_LOGIN_REQUIRED',
  'GW_ERR_ACCESS_DENIED',
  'GW_ERR_CSRF',
  'GW_ERR_BAD_REQUEST',
  'GW_ERR_CONFLICT',
  'GW_ERR_AUDIT_UNAVAILABLE',
  'GW_ERR_INTERNAL',
  'GW_ERR_RATE_LIMITED',
  'GW_ERR_POLICY_RELOADED',
  'GW_ERR_UNKNOWN_RECORDING',
  'GW_ERR_RECORDING_UNREADABLE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** WebSocket close codes the gateway uses (RFC 6455 §7.4, 4000-4999 for application codes). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
  /** The viewer's login ended (logout, expiry, refused refresh). */
  loginEnded: 4401,
  /** The viewer may no longer watch this desktop. */
  viewRevoked: 4403,
  upstreamFailed: 4502,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly code: ErrorCode,
    /** For the log: may name hosts, ports, byte values. Never secrets. */
    message: string,
    /** For the person at the browser: short, actionable, no internals. */
    readonly userMessage: string,
    readonly closeCode: CloseCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A peer broke the RFB protocol: the connection must end, nothing about it can be skipped. */
export function protocolError(
  code: ErrorCode,
  message: string,
  closeCode: CloseCode = CloseCode.policyViolation,
): GatewayError {
  return new GatewayError(code, message, 'The connection was closed because the viewer sent data the gateway does not accept.', closeCode);
}

/** The VNC server could not be reached or refused us: the viewer is told the desktop is unavailable. */
export function upstreamError(code: ErrorCode, message: string, userMessage: string, cause?: unknown): GatewayError {
  return new GatewayError(code, message, userMessage, CloseCode.upstreamFailed, cause === undefined ? undefined : { cause });
}

export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof GatewayError;
}
