// The beamline's input policy through the real gateway: the person who holds control still
// cannot send a denied key combination or click a denied region; they are told, and the block
// is audited once per burst.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { panelLayout, widgetCentre } from '../demo-desktop/panel.js';
import { DEMO_BEAMLINE } from '../demo-idp/sample-user-office.js';
import { keyEvent, pointerEvent, qemuExtendedKeyEvent } from '../rfb/c2s-encode.js';
import { openControlClient } from '../testing/control-client.js';
import { startLoginRig, type LoginRig } from '../testing/login-rig.js';
import { connectWsRfb } from '../testing/ws-rfb-client.js';

const layout = panelLayout(1024, 768);
const reset = layout.resetInterlock;
const XK = { Control_L: 0xffe3, Alt_L: 0xffe9, BackSpace: 0xff08, t: 0x74, a: 0x61 };
const QEMU = { Control_L: 0x1d, Alt_L: 0x38, BackSpace: 0x0e, t: 0x14 };

describe('input policy through the gateway', () => {
  let rig: LoginRig;

  before(async () => {
    rig = await startLoginRig({
      inputPolicy: {
        version: 1, beamline: DEMO_BEAMLINE,
        keys: { defaults: 'kiosk' },
        pointer: { denyRegions: [{ id: 'interlock-reset', x: reset.x, y: reset.y, width: reset.width, height: reset.height, reason: 'The interlock is reset on site only.' }] },
      },
    });
  });
  after(async () => {
    await rig.close();
  });

  it('drops denied combinations (KeyEvent and QEMU forms) and clicks in a denied region of the holder, tells them, audits once per burst', async () => {
    const { base, desktop } = rig;
    const ws = base.replace('http:', 'ws:');
    const alice = await rig.login('alice.remote');
    await rig.acknowledgeInstruction(alice);
    const control = await openControlClient(`${ws}/control/bl-demo`, { origin: base, cookie: alice.cookie });
    control.send({ v: 1, type: 'request', message: '' });
    await control.waitForState(s => s.you.holding);
    const viewer = await connectWsRfb(`${ws}/desktop/bl-demo?connection=${control.connection}`, { origin: base, cookie: alice.cookie });
    const before = desktop.inputs.length;

    // Ctrl+Alt+BackSpace as KeyEvents, three times (one burst), then as QEMU events.
    for (let i = 0; i < 3; i++) {
      viewer.send(keyEvent(true, XK.Control_L));
      viewer.send(keyEvent(true, XK.Alt_L));
      viewer.send(keyEvent(true, XK.BackSpace));
      viewer.send(keyEvent(false, XK.BackSpace));
      viewer.send(keyEvent(false, XK.Alt_L));
      viewer.send(keyEvent(false, XK.Control_L));
    }
    viewer.send(qemuExtendedKeyEvent(true, XK.Control_L, QEMU.Control_L));
    viewer.send(qemuExtendedKeyEvent(true, XK.Alt_L, QEMU.Alt_L));
    viewer.send(qemuExtendedKeyEvent(true, XK.t, QEMU.t));
    viewer.send(qemuExtendedKeyEvent(false, XK.t, QEMU.t));
    viewer.send(qemuExtendedKeyEvent(false, XK.Alt_L, QEMU.Alt_L));
    viewer.send(qemuExtendedKeyEvent(false, XK.Control_L, QEMU.Control_L));
    // A click on the interlock reset button, then a permitted key as the end marker.
    const c = widgetCentre(layout, 'resetInterlock');
    viewer.send(pointerEvent(1, c.x, c.y));
    viewer.send(pointerEvent(0, c.x, c.y));
    viewer.send(keyEvent(true, XK.a));
    viewer.send(keyEvent(false, XK.a));
    await desktop.waitForInput(i => i.message.type === 'KeyEvent' && i.message.keysym === XK.a && !i.message.down);

    const arrived = desktop.inputs.slice(before).map(i => i.message);
    const keysyms = arrived.flatMap(m => (m.type === 'KeyEvent' || m.type === 'QemuExtendedKeyEvent' ? [m.keysym] : []));
    assert.ok(!keysyms.includes(XK.BackSpace), 'BackSpace of Ctrl+Alt+BackSpace arrived');
    assert.ok(!keysyms.includes(XK.t), 't of Ctrl+Alt+T arrived');
    assert.ok(keysyms.includes(XK.Control_L), 'plain modifiers are forwarded (and released)');
    const pressed = arrived.filter(m => m.type === 'PointerEvent' && m.buttonMask !== 0);
    assert.equal(pressed.length, 0, 'a press in the denied region arrived');
    assert.equal(rig.desktop.state().interlockResets, 0);

    await control.waitFor(m => m.type === 'notice' && m.text.includes('Blocked'));
    const records = await rig.gateway.store.audit.query({ codes: ['input.blocked'] });
    const rules = records.map(r => r.details?.['rule']);
    assert.ok(rules.includes('interlock-reset'), JSON.stringify(rules));
    // Three Ctrl+Alt+BackSpace in a row are one burst: one 'first' record for that rule, not three.
    const firstOfKill = records.filter(r => r.message.startsWith('input blocked by rule') && JSON.stringify(r.details?.['rule'] ?? '').includes('kill'));
    assert.equal(firstOfKill.length, 1, JSON.stringify(records.map(r => r.message)));
    viewer.ws.close();
    control.send({ v: 1, type: 'release' });
    control.ws.close();
  });
});
