// Colours of the demo beamline panel (0x00RRGGBB), exported so tests can check pixels
// (e.g. the shutter lamp) without knowing how widgets are drawn.
// Pure data: no I/O.

export const COLOURS = {
  background: 0x262a2e,
  titleBar: 0x1d3557,
  titleText: 0xffffff,
  titleAccent: 0xf5c400,
  groupFill: 0x31363b,
  groupBorder: 0x4b535b,
  groupTitle: 0x9fb8d0,
  text: 0xe8e8e8,
  dimText: 0x9aa3ab,
  button: 0x4a5663,
  buttonLight: 0x6d7c8b,
  buttonShadow: 0x1f2428,
  buttonPressed: 0x2c343c,
  buttonText: 0xffffff,
  lampOpen: 0x2ecc40,
  lampClosed: 0xd0021b,
  lampRim: 0x14171a,
  interlockOk: 0x2ecc40,
  interlockTripped: 0xd0021b,
  stripeRed: 0xc8102e,
  stripeYellow: 0xf5c400,
  plate: 0x14171a,
  plateText: 0xf5c400,
  fieldFill: 0x15181b,
  fieldBorder: 0x5f6b76,
  fieldFocus: 0x4da3ff,
  caret: 0x4da3ff,
  logFill: 0x15181b,
  logNewest: 0xffffff,
  motorTrack: 0x15181b,
  motorMarker: 0x4da3ff,
  motorTarget: 0xf5c400,
  statusBar: 0x181b1e,
  statusText: 0xc9d1d9,
} as const;

export type ColourName = keyof typeof COLOURS;
