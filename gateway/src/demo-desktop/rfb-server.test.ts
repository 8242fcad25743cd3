// The demo desktop as an RFB server over real TCP: handshake, pixel formats, updates after
// input, and what it records.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { framebufferUpdateRequest, keyEvent, pointerEvent, setPixelFormat } from '../rfb/c2s-encode.js';
import { UpstreamHandshake } from '../rfb/handshake-upstream.js';
import { RGB888_LE, type PixelFormat } from '../rfb/pixel-format.js';
import type { ServerInit } from '../rfb/server-init.js';
import { COLOURS, panelLayout, widgetCentre } from './panel.js';
import { startDemoDesktop, type DemoDesktop } from './rfb-server.js';

interface Client { socket: Socket; init: ServerInit; read(n: number, timeoutMs?: number): Promise<Buffer> }

async function rfbConnect(port: number, password: string): Promise<Client> {
  const socket = connect({ host: '127.0.0.1', port });
  const handshake = new UpstreamHandshake({ security: ['vnc'], password });
  let buffered = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  const init = await new Promise<ServerInit>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('close', () => {
      reject(new Error('closed during handshake'));
    });
    socket.on('data', (chunk) => {
      if (handshake.stage === 'Done') {
        buffered = Buffer.concat([buffered, chunk]);
        wake?.();
        return;
      }
      for (const e of handshake.feed(chunk)) {
        if (e.kind === 'send') socket.write(e.bytes);
        else if (e.kind === 'failed') reject(e.error);
        else if (e.kind === 'done') resolve(e.serverInit);
      }
    });
  });
  return {
    socket, init,
    read: (n, timeoutMs = 3000) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`wanted ${n} bytes, have ${buffered.length}`));
      }, timeoutMs);
      const check = (): void => {
        if (buffered.length < n) return;
        clearTimeout(timer);
        const out = buffered.subarray(0, n);
        buffered = buffered.subarray(n);
        resolve(out);
      };
      wake = check;
      check();
    }),
  };
}

/** Reads one Raw FramebufferUpdate and returns its rects with their pixel bytes. */
async function readUpdate(c: Client, bpp: number): Promise<{ x: number; y: number; w: number; h: number; pixels: Buffer }[]> {
  const head = await c.read(4);
  assert.equal(head[0], 0, 'FramebufferUpdate');
  const rects = [];
  for (let i = 0; i < head.readUInt16BE(2); i++) {
    const r = await c.read(12);
    const [x, y, w, h] = [r.readUInt16BE(0), r.readUInt16BE(2), r.readUInt16BE(4), r.readUInt16BE(6)];
    assert.equal(r.readInt32BE(8), 0, 'Raw encoding');
    rects.push({ x, y, w, h, pixels: await c.read(w * h * bpp) });
  }
  return rects;
}

describe('demo desktop RFB server', () => {
  let desktop: DemoDesktop;
  const layout = panelLayout(1024, 768);
  before(async () => {
    desktop = await startDemoDesktop({ password: 'demo-pw', tickMs: 20 });
  });
  after(async () => {
    await desktop.close();
  });

  it('serves the panel after VNC authentication', async () => {
    const c = await rfbConnect(desktop.port, 'demo-pw');
    assert.deepEqual([c.init.width, c.init.height, c.init.name], [1024, 768, 'BL-DEMO beamline control (simulated)']);
    c.socket.destroy();
  });

  it('refuses a wrong password', async () => {
    await assert.rejects(rfbConnect(desktop.port, 'nope'), /Authentication failure/);
  });

  it('sends the closed-shutter lamp in 32-bit and in 16-bit pixels', async () => {
    const lamp = layout.shutterLamp;
    const c = await rfbConnect(desktop.port, 'demo-pw');
    c.socket.write(framebufferUpdateRequest(false, lamp.x + 2, lamp.y + 2, 1, 1));
    const [rect] = await readUpdate(c, 4);
    assert.equal(rect!.pixels.readUInt32LE(0), COLOURS.lampClosed);
    const rgb565: PixelFormat = {
      ...RGB888_LE, bitsPerPixel: 16, depth: 16, bigEndian: true,
      redMax: 31, greenMax: 63, blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0,
    };
    c.socket.write(Buffer.concat([setPixelFormat(rgb565), framebufferUpdateRequest(false, lamp.x + 2, lamp.y + 2, 1, 1)]));
    const [rect16] = await readUpdate(c, 2);
    const expected = (Math.round((0xd0 * 31) / 255) << 11) | (Math.round((0x02 * 63) / 255) << 5) | Math.round((0x1b * 31) / 255);
    assert.equal(rect16!.pixels.readUInt16BE(0), expected);
    c.socket.destroy();
  });

  it('opens the shutter on a click, records the input, and sends the change to every viewer', async () => {
    const driver = await rfbConnect(desktop.port, 'demo-pw');
    const watcher = await rfbConnect(desktop.port, 'demo-pw');
    watcher.socket.write(framebufferUpdateRequest(true, 0, 0, 1024, 768));
    const { x, y } = widgetCentre(layout, 'openShutter');
    driver.socket.write(Buffer.concat([pointerEvent(1, x, y), pointerEvent(0, x, y)]));
    await desktop.waitForInput(i => i.message.type === 'PointerEvent' && i.message.buttonMask === 0);
    assert.equal(desktop.state().shutter, 'open');
    const lamp = layout.shutterLamp;
    const covers = (r: { x: number; y: number; w: number; h: number }): boolean =>
      r.x <= lamp.x && r.y <= lamp.y && r.x + r.w >= lamp.x + lamp.width && r.y + r.h >= lamp.y + lamp.height;
    // Like a real viewer: read an update, ask for the next, until the lamp's change has arrived.
    let covering: Awaited<ReturnType<typeof readUpdate>>[number] | undefined;
    for (let i = 0; i < 10 && covering === undefined; i++) {
      covering = (await readUpdate(watcher, 4)).find(covers);
      if (covering === undefined) watcher.socket.write(framebufferUpdateRequest(true, 0, 0, 1024, 768));
    }
    assert.ok(covering, 'an update rect covers the lamp');
    const offset = ((lamp.y + 1 - covering.y) * covering.w + (lamp.x + 1 - covering.x)) * 4;
    assert.equal(covering.pixels.readUInt32LE(offset), COLOURS.lampOpen);
    driver.socket.destroy();
    watcher.socket.destroy();
  });

  it('types into the sample field', async () => {
    const c = await rfbConnect(desktop.port, 'demo-pw');
    const { x, y } = widgetCentre(layout, 'sampleField');
    c.socket.write(Buffer.concat([pointerEvent(1, x, y), pointerEvent(0, x, y), ...Array.from(Buffer.from('Fe3O4', 'latin1')).flatMap(k => [keyEvent(true, k), keyEvent(false, k)])]));
    await desktop.waitForInput(i => i.message.type === 'KeyEvent' && i.message.keysym === 0x34 && !i.message.down);
    assert.equal(desktop.state().sample.text, 'Fe3O4');
    c.socket.destroy();
  });

  it('disconnects a client that sends an unknown message type', async () => {
    const c = await rfbConnect(desktop.port, 'demo-pw');
    const closed = new Promise(resolve => c.socket.once('close', resolve));
    c.socket.write(Buffer.from([99, 0, 0, 0]));
    await closed;
  });
});
