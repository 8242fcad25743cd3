// RFB encoding numbers the gateway cares about, and the SetEncodings rewrite: the gateway,
// not the browser, decides which capabilities the VNC server may switch on. Pure.

export const Encoding = {
  Raw: 0,
  CopyRect: 1,
  H264: 50,
  ExtendedMouseButtons: -316,
  Xvp: -309,
  ExtendedClipboard: -1063131698, // 0xC0A1E5CE as s32
  DesktopSize: -223,
  ExtendedDesktopSize: -308,
  QemuExtendedKeyEvent: -258,
  Fence: -312,
  ContinuousUpdates: -313,
} as const;

/**
 * Encodings removed from every SetEncodings before it reaches the VNC server, and why:
 * - H.264: recordings must replay in browsers without WebCodecs, and TigerVNC ≤ 1.14 cannot encode it.
 * - ExtendedMouseButtons: it makes PointerEvent 6 or 7 bytes depending on an acknowledgement that only
 *   decoding server-to-client rectangles would reveal; without it every PointerEvent is 6 bytes.
 * - xvp: machine shutdown/reboot/reset of the beamline workstation is never a remote user's action.
 */
export const STRIPPED_ENCODINGS: ReadonlySet<number> = new Set([Encoding.H264, Encoding.ExtendedMouseButtons, Encoding.Xvp]);

export function rewriteEncodings(encodings: readonly number[]): number[] {
  return encodings.filter(e => !STRIPPED_ENCODINGS.has(e));
}
