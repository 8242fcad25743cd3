// Tests of the SetEncodings rewrite: what noVNC 1.7 asks for becomes what the server-to-client
// scanner can frame, and the allow-list and the scanner agree on every rectangle encoding.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ALLOWED_ENCODINGS, Encoding as E, isAllowedEncoding, rewriteEncodings } from './encodings.js';
import { FRAMED_ENCODING } from './s2c-scanner.js';

describe('rewriteEncodings', () => {
  it('turns noVNC 1.7\'s list (rfb.js _sendEncodings, with H.264 and cursors) into the framed subset, in order', () => {
    const quality = -32 + 6;
    const compression = -256 + 2;
    const novnc = [
      E.CopyRect, E.H264, E.Tight, E.TightPNG, E.ZRLE, E.JPEG, E.Hextile, E.RRE, E.Zlib, E.Raw, quality, compression,
      E.DesktopSize, E.LastRect, E.QemuExtendedKeyEvent, E.QemuLedState, E.ExtendedDesktopSize, E.Xvp, E.Fence,
      E.ContinuousUpdates, E.DesktopName, E.ExtendedClipboard, E.ExtendedMouseButtons, E.VMwareCursor, E.Cursor,
    ];
    assert.deepEqual(rewriteEncodings(novnc), [
      E.CopyRect, E.Tight, E.TightPNG, E.ZRLE, E.Hextile, E.RRE, E.Zlib, E.Raw, quality, compression,
      E.DesktopSize, E.LastRect, E.QemuExtendedKeyEvent, E.QemuLedState, E.ExtendedDesktopSize, E.Fence,
      E.ContinuousUpdates, E.DesktopName, E.ExtendedClipboard, E.VMwareCursor, E.Cursor,
    ]);
  });

  it('drops what the scanner cannot frame or the gateway never allows, and anything unknown', () => {
    // CoRRE (4), zlibhex (8), cursor with alpha (-314), and numbers next to the hint ranges.
    const refused = [E.JPEG, E.H264, E.ExtendedMouseButtons, E.Xvp, 4, 8, -314, -1, 12345, -33, -246];
    for (const e of refused) assert.equal(isAllowedEncoding(e), false, String(e));
    for (const e of [-32, -23, -256, -247]) assert.equal(isAllowedEncoding(e), true, `hint ${e}`);
  });

  it('allows exactly the rectangle encodings the scanner frames, plus the three that only enable framed messages', () => {
    const framed = new Set<number>(Object.values(FRAMED_ENCODING));
    const messageOnly = new Set<number>([E.Fence, E.ContinuousUpdates, E.ExtendedClipboard]);
    assert.deepEqual([...ALLOWED_ENCODINGS].filter(e => !framed.has(e) && !messageOnly.has(e)), [], 'allowed but not framed');
    assert.deepEqual([...framed].filter(e => !ALLOWED_ENCODINGS.has(e)), [], 'framed but never allowed');
  });
});
