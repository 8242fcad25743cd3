// RFB encoding numbers the gateway cares about, and the SetEncodings rewrite: the gateway,
// not the browser, decides which capabilities the VNC server may switch on. Pure.

export const Encoding = {
  Raw: 0,
  CopyRect: 1,
  RRE: 2,
  Hextile: 5,
  Zlib: 6,
  Tight: 7,
  ZRLE: 16,
  JPEG: 21,
  H264: 50,
  TightPNG: -260,
  ExtendedMouseButtons: -316,
  Xvp: -309,
  ExtendedClipboard: -1063131698, // 0xC0A1E5CE as s32
  DesktopSize: -223,
  LastRect: -224,
  Cursor: -239,
  XCursor: -240,
  QemuExtendedKeyEvent: -258,
  QemuLedState: -261,
  DesktopName: -307,
  ExtendedDesktopSize: -308,
  Fence: -312,
  ContinuousUpdates: -313,
  VMwareCursor: 0x574d5664,
  VMwareLedState: 0x574d5668,
} as const;

/**
 * What the VNC server may use toward a browser: only what the server-to-client scanner
 * (s2c-scanner.ts) can frame, because the gateway frames that stream whenever the beamline's
 * desktop->browser clipboard rule needs it, and a rectangle it cannot size would end the session.
 * - Rectangle encodings: Raw, CopyRect, RRE, Hextile, Zlib, Tight, TightPNG, ZRLE.
 * - Pseudo-encodings that add rectangles: DesktopSize, LastRect, Cursor, XCursor, QEMU extended key
 *   event, QEMU and VMware LED state, DesktopName, ExtendedDesktopSize, VMware cursor.
 * - Pseudo-encodings that enable messages the scanner frames: Fence (248), ContinuousUpdates (150),
 *   ExtendedClipboard (ServerCutText with a negative length).
 * - Hints without bytes of their own: JPEG quality (-32..-23) and compression level (-256..-247).
 * Everything else is dropped, among it:
 * - JPEG (21): a rectangle of JPEG segments with no length; framing it means parsing JPEG markers.
 * - H.264 (50): recordings must replay in browsers without WebCodecs, and TigerVNC ≤ 1.14 cannot encode it.
 * - ExtendedMouseButtons (-316): it makes PointerEvent 6 or 7 bytes depending on an acknowledgement in
 *   the server stream; without it every PointerEvent is 6 bytes.
 * - xvp (-309): machine shutdown/reboot/reset of the beamline workstation is never a remote user's action.
 * - anything unknown: a pseudo-encoding could make the server send something nobody can frame.
 */
export const ALLOWED_ENCODINGS: ReadonlySet<number> = new Set([
  Encoding.Raw, Encoding.CopyRect, Encoding.RRE, Encoding.Hextile, Encoding.Zlib, Encoding.Tight, Encoding.TightPNG, Encoding.ZRLE,
  Encoding.DesktopSize, Encoding.LastRect, Encoding.Cursor, Encoding.XCursor, Encoding.QemuExtendedKeyEvent, Encoding.QemuLedState,
  Encoding.DesktopName, Encoding.ExtendedDesktopSize, Encoding.VMwareCursor, Encoding.VMwareLedState,
  Encoding.Fence, Encoding.ContinuousUpdates, Encoding.ExtendedClipboard,
]);

const JPEG_QUALITY = { from: -32, to: -23 } as const;
const COMPRESSION_LEVEL = { from: -256, to: -247 } as const;

export function isAllowedEncoding(encoding: number): boolean {
  return ALLOWED_ENCODINGS.has(encoding)
    || (encoding >= JPEG_QUALITY.from && encoding <= JPEG_QUALITY.to)
    || (encoding >= COMPRESSION_LEVEL.from && encoding <= COMPRESSION_LEVEL.to);
}

/** The browser's SetEncodings list with everything outside the allow-list removed, order kept. */
export function rewriteEncodings(encodings: readonly number[]): number[] {
  return encodings.filter(isAllowedEncoding);
}
