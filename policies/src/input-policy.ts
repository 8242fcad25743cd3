// The per-beamline input policy file: what the person who holds control may still not do on a
// beamline (key combinations, interlock regions, clipboard, desktop resize, input rate). One YAML
// file per beamline; docs/input-policy.md documents every field, and
// policies/schema/beamline-input-policy.schema.json is generated from this schema
// (scripts/gen-policy-schema.mjs; a test fails when it is out of date).
// Every rule has an id (audit records and user notices name it) and a reason (the notice text).
// Pure: schema and data, no I/O.
import { z } from 'zod';
import { KeyComboError, parseCombo } from './key-combos.js';

export const POLICY_FORMAT_VERSION = 1;

const ruleId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits and . _ -, at most 64 characters');
/** Shown to the person whose action was blocked: short, says why. */
const reason = z.string().min(1).max(300);
const pixels = z.number().int().min(0).max(65535);

const combo = z.string().min(1).max(100).superRefine((text, ctx) => {
  try {
    parseCombo(text);
  } catch (e) {
    if (!(e instanceof KeyComboError)) throw e;
    ctx.addIssue({ code: 'custom', message: e.message });
  }
});

const keyRuleSchema = z.strictObject({
  id: ruleId,
  /** Combinations such as "Ctrl+Alt+F1", or a single key ("Super") whose press is denied whatever else is held. */
  combos: z.array(combo).min(1).max(64)
    .describe('Combinations such as "Ctrl+Alt+F1" (modifiers in any order), or a single key ("Super") denied whatever else is held.'),
  reason,
});

export const KEY_DEFAULT_SETS = ['none', 'kiosk', 'kiosk-strict'] as const;
export type KeyDefaultSet = (typeof KEY_DEFAULT_SETS)[number];

const keysSchema = z.strictObject({
  /** Built-in rules added before `deny` (docs/input-policy.md lists them): `kiosk`, `kiosk-strict` (adds Alt+F4 and Ctrl+Alt+Escape), `none`. */
  defaults: z.enum(KEY_DEFAULT_SETS).default('none').describe('Built-in key rules added before deny: kiosk, kiosk-strict (adds Alt+F4, Ctrl+Alt+Escape), none.'),
  /** Ids of built-in rules to leave out (e.g. `kiosk-super` where Super is harmless). */
  omitDefaults: z.array(ruleId).default([]).describe('Ids of built-in rules to leave out.'),
  deny: z.array(keyRuleSchema).max(200).default([]),
  /**
   * Count the right Alt key (QEMU key code 0xb8) as Alt as well as AltGr. Only for a VNC server run
   * with -RawKeyboard whose keymap has Alt_R there (e.g. "us"); AltGr+key characters of the person's
   * layout then match Ctrl+Alt rules too.
   */
  altGrIsAlt: z.boolean().default(false).describe('Count the right Alt key (QEMU code 0xb8) as Alt too; only for -RawKeyboard servers whose keymap has Alt_R there.'),
});

const regionSchema = z.strictObject({
  id: ruleId,
  /** Desktop coordinates of the top left pixel, then the size: the region covers x..x+width-1, y..y+height-1. */
  x: pixels,
  y: pixels,
  width: pixels.min(1),
  height: pixels.min(1),
  reason,
});

const clipboardDirectionSchema = (defaultId: string, defaultReason: string) => z.strictObject({
  id: ruleId.default(defaultId),
  allow: z.boolean().default(false),
  /** Largest text that passes, in bytes as sent (Latin-1 or UTF-8; the uncompressed size for extended clipboard). */
  maxBytes: z.number().int().min(0).max(16 * 1024 * 1024).default(65536).describe('Largest clipboard text that passes, in bytes (uncompressed).'),
  reason: reason.default(defaultReason),
});

export const RESIZE_WHO = ['nobody', 'staff', 'holder'] as const;
export type ResizeWho = (typeof RESIZE_WHO)[number];

const resizeSchema = z.strictObject({
  id: ruleId.default('desktop-resize'),
  /** `holder`: whoever holds control; `staff`: only staff holding control; `nobody`. */
  who: z.enum(RESIZE_WHO).default('nobody').describe('Who may resize the desktop: nobody, staff (holding control), holder (whoever holds control).'),
  minWidth: pixels.min(1).default(640),
  minHeight: pixels.min(1).default(480),
  maxWidth: pixels.min(1).default(3840),
  maxHeight: pixels.min(1).default(2160),
  reason: reason.default('The desktop size of this beamline is fixed.'),
}).refine(r => r.minWidth <= r.maxWidth && r.minHeight <= r.maxHeight, { message: 'minWidth/minHeight must not exceed maxWidth/maxHeight' });

const rateLimitSchema = z.strictObject({
  id: ruleId.default('input-rate'),
  /** Sustained input events (key presses, pointer events, clipboard, resize) per second and connection. */
  eventsPerSecond: z.number().min(1).max(100_000).default(200).describe('Sustained input events per second and connection.'),
  /** Events allowed at once above the sustained rate (a fast typist, a quick drag). */
  burst: z.number().int().min(1).max(100_000).default(400).describe('Input events allowed at once above the sustained rate.'),
  reason: reason.default('Input arrives faster than this beamline accepts; some was not sent.'),
});

export const beamlineInputPolicySchema = z.strictObject({
  /** The format version; 1 today. */
  version: z.literal(POLICY_FORMAT_VERSION),
  /** The beamline this file is for; must match the file name (`<beamline>.yaml`). */
  beamline: z.string().describe('The beamline id; must match the file name <beamline>.yaml.').regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, 'letters, digits and . _ : @ -, at most 128 characters'),
  description: z.string().max(2000).optional(),
  keys: keysSchema.prefault({}),
  pointer: z.strictObject({
    /** Rectangles where button presses (and the wheel) are dropped; motion passes. */
    denyRegions: z.array(regionSchema).max(200).default([]).describe('Desktop rectangles where button presses (and the wheel) are dropped; motion passes.'),
  }).prefault({}),
  clipboard: z.strictObject({
    browserToDesktop: clipboardDirectionSchema('clipboard-to-desktop', 'Pasting into the beamline desktop is not allowed here.').prefault({}),
    desktopToBrowser: clipboardDirectionSchema('clipboard-to-browser', 'Copying from the beamline desktop is not allowed here.').prefault({}),
  }).prefault({}),
  resize: resizeSchema.prefault({}),
  rateLimit: rateLimitSchema.prefault({}),
  recording: z.strictObject({
    enabled: z.boolean().optional().describe('Record this beamline\'s sessions (default: the gateway\'s recordings.enabled, which is true).'),
    retentionDays: z.number().int().min(1).max(36500).optional()
      .describe('Days a recording is kept before it is deleted (default: the gateway\'s recordings.retentionDays).'),
  }).prefault({}).describe('Session recording for this beamline (docs/recordings.md).'),
}).superRefine((policy, ctx) => {
  const seen = new Map<string, string>();
  const note = (id: string, path: (string | number)[]): void => {
    const first = seen.get(id);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path, message: `rule id "${id}" is already used at ${first}; ids must be unique` });
    else seen.set(id, path.join('.'));
  };
  policy.keys.deny.forEach((r, i) => {
    note(r.id, ['keys', 'deny', i, 'id']);
  });
  policy.pointer.denyRegions.forEach((r, i) => {
    note(r.id, ['pointer', 'denyRegions', i, 'id']);
  });
  note(policy.clipboard.browserToDesktop.id, ['clipboard', 'browserToDesktop', 'id']);
  note(policy.clipboard.desktopToBrowser.id, ['clipboard', 'desktopToBrowser', 'id']);
  note(policy.resize.id, ['resize', 'id']);
  note(policy.rateLimit.id, ['rateLimit', 'id']);
});

export type BeamlineInputPolicy = z.output<typeof beamlineInputPolicySchema>;
export type BeamlineInputPolicyInput = z.input<typeof beamlineInputPolicySchema>;
export type KeyRule = z.output<typeof keyRuleSchema>;
export type DenyRegion = z.output<typeof regionSchema>;

/** The built-in key rules, by set. Ids start with `kiosk-` so a policy's own ids do not collide. */
export const KIOSK_KEY_RULES: readonly KeyRule[] = [
  {
    id: 'kiosk-kill-x',
    combos: ['Ctrl+Alt+BackSpace', 'Terminate_Server'],
    reason: 'Ctrl+Alt+BackSpace would end the beamline desktop.',
  },
  {
    id: 'kiosk-vt-switch',
    combos: [
      ...Array.from({ length: 12 }, (_, i) => `Ctrl+Alt+F${i + 1}`),
      ...Array.from({ length: 12 }, (_, i) => `XF86Switch_VT_${i + 1}`),
    ],
    reason: 'Switching consoles (Ctrl+Alt+F1..F12) is not allowed on the beamline workstation.',
  },
  { id: 'kiosk-ctrl-alt-delete', combos: ['Ctrl+Alt+Delete'], reason: 'Ctrl+Alt+Delete is not allowed on the beamline workstation.' },
  { id: 'kiosk-run-dialog', combos: ['Alt+F2'], reason: 'The run dialog (Alt+F2) is not available remotely.' },
  { id: 'kiosk-super', combos: ['Super'], reason: 'The Super (Windows) key is not available remotely.' },
  { id: 'kiosk-terminal', combos: ['Ctrl+Alt+T'], reason: 'Opening a terminal is not allowed on the beamline workstation.' },
  { id: 'kiosk-grab-break', combos: ['XF86Ungrab', 'XF86ClearGrab'], reason: 'Breaking input grabs is not allowed on the beamline workstation.' },
];

export const KIOSK_STRICT_EXTRA_KEY_RULES: readonly KeyRule[] = [
  { id: 'kiosk-close-window', combos: ['Alt+F4'], reason: 'Closing windows (Alt+F4) is not allowed on this beamline.' },
  { id: 'kiosk-xkill', combos: ['Ctrl+Alt+Escape'], reason: 'Killing windows (Ctrl+Alt+Escape) is not allowed on this beamline.' },
];

export function defaultKeyRules(set: KeyDefaultSet): readonly KeyRule[] {
  switch (set) {
    case 'none': return [];
    case 'kiosk': return KIOSK_KEY_RULES;
    case 'kiosk-strict': return [...KIOSK_KEY_RULES, ...KIOSK_STRICT_EXTRA_KEY_RULES];
  }
}

/**
 * The policy of a beamline that has no file: the kiosk key defaults, no clipboard, no resize,
 * the default rate. Conservative on purpose: a missing file must not open the beamline up.
 */
export function fallbackPolicy(beamline: string): BeamlineInputPolicy {
  return beamlineInputPolicySchema.parse({ version: POLICY_FORMAT_VERSION, beamline, keys: { defaults: 'kiosk' } });
}

/** The JSON Schema of a policy file as an editor or CI validates it (the input form: defaults are optional). */
export function inputPolicyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(beamlineInputPolicySchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return {
    $schema: schema['$schema'],
    $id: 'https://beamgate.invalid/schema/beamline-input-policy.schema.json',
    title: 'Beamgate beamline input policy',
    description: 'What the person holding control may still not do on one beamline. See docs/input-policy.md.',
    ...schema,
  };
}
