import { it } from 'node:test';
import assert from 'node:assert/strict';
import { setPixelFormat } from '../../../gateway/src/rfb/c2s-encode.js';
import { NOVNC_PIXEL_FORMAT } from '../../../gateway/src/recording/desktop-recorder.js';
import { serverHandshake } from './playback-handshake.js';

it('greets noVNC as an RFB 3.8 server with security None and a ServerInit in the recorded pixel format', () => {
  const [version, rest] = serverHandshake({ width: 1280, height: 800, name: 'P11 ü' });
  assert.equal(Buffer.from(version).toString('latin1'), 'RFB 003.008\n');
  const v = new DataView(rest.buffer, rest.byteOffset, rest.byteLength);
  assert.deepEqual([...rest.subarray(0, 2)], [1, 1], 'one security type: None');
  assert.equal(v.getUint32(2), 0, 'SecurityResult OK');
  assert.equal(v.getUint16(6), 1280);
  assert.equal(v.getUint16(8), 800);
  // The same 16 bytes the recorder asks the VNC server for (SetPixelFormat: type, 3 padding, format).
  assert.deepEqual([...rest.subarray(10, 26)], [...setPixelFormat(NOVNC_PIXEL_FORMAT).subarray(4)]);
  const nameLength = v.getUint32(26);
  assert.equal(Buffer.from(rest.subarray(30)).toString('utf8'), 'P11 ü');
  assert.equal(nameLength, Buffer.byteLength('P11 ü'));
  assert.equal(rest.length, 30 + nameLength);
});

it('refuses sizes RFB cannot express', () => {
  for (const [width, height] of [[0, 10], [10, 0], [70_000, 10], [1.5, 10]] as const) {
    assert.throws(() => serverHandshake({ width, height, name: '' }), RangeError);
  }
});
