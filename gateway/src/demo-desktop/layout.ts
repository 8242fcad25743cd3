// Where every widget of the demo beamline panel sits, as a function of the desktop size.
// Tests (unit, integration, browser end-to-end) click widgets by name through this, so
// names are a stable interface. Pure: no I/O.

import { rect, type Rect } from './rect.js';

export const MIN_WIDTH = 640;
export const MIN_HEIGHT = 480;
export const DEFAULT_WIDTH = 1024;
export const DEFAULT_HEIGHT = 768;

export const WIDGET_NAMES = [
  'title',
  'shutterGroup', 'shutterLamp', 'shutterState', 'openShutter', 'closeShutter',
  'motorGroup', 'motorReadout', 'motorTarget', 'motorBar', 'jogMinus', 'jogPlus',
  'sampleGroup', 'sampleField',
  'interlockGroup', 'interlockArea', 'resetInterlock', 'interlockLamp', 'interlockStatus',
  'logGroup', 'eventLog',
  'helpGroup', 'helpText',
  'statusBar', 'statusInput', 'statusPointer',
] as const;

export type WidgetName = (typeof WIDGET_NAMES)[number];
export type PanelLayout = Readonly<Record<WidgetName, Rect>>;

/**
 * The widget that encloses each widget (null at top level). Siblings never overlap and
 * children lie inside their parent, which the layout tests check for every size.
 */
export const PANEL_PARENT: Readonly<Record<WidgetName, WidgetName | null>> = {
  title: null,
  shutterGroup: null,
  shutterLamp: 'shutterGroup',
  shutterState: 'shutterGroup',
  openShutter: 'shutterGroup',
  closeShutter: 'shutterGroup',
  motorGroup: null,
  motorReadout: 'motorGroup',
  motorTarget: 'motorGroup',
  motorBar: 'motorGroup',
  jogMinus: 'motorGroup',
  jogPlus: 'motorGroup',
  sampleGroup: null,
  sampleField: 'sampleGroup',
  interlockGroup: null,
  interlockArea: 'interlockGroup',
  resetInterlock: 'interlockArea',
  interlockLamp: 'interlockGroup',
  interlockStatus: 'interlockGroup',
  logGroup: null,
  eventLog: 'logGroup',
  helpGroup: null,
  helpText: 'helpGroup',
  statusBar: null,
  statusInput: 'statusBar',
  statusPointer: 'statusBar',
};

// Geometry in pixels. Heights are fixed so the 640x480 minimum always fits; extra height
// goes to the help box and extra width to the two columns.
export const TITLE_HEIGHT = 36;
export const STATUS_HEIGHT = 28;
const MARGIN = 16;
const GAP = 12;
const PAD = 12;
/** Band at the top of each group box holding its title. */
export const GROUP_TITLE_HEIGHT = 30;
const BUTTON_HEIGHT = 34;
/** Lines of the event log; the panel state keeps exactly this many. */
export const LOG_LINES = 6;
/** Interlock label plate ("INTERLOCK" at scale 2 plus padding); the reset button sits to its right. */
export const INTERLOCK_PLATE_WIDTH = 122;

/** Log text is drawn at scale 2 when a line of this many characters fits, else at scale 1. */
export const LOG_WIDE_CHARS = 36;

export function logScaleFor(logWidth: number): number {
  return Math.floor((logWidth - 16) / 12) >= LOG_WIDE_CHARS ? 2 : 1;
}

export function panelLayout(width: number, height: number): PanelLayout {
  if (width < MIN_WIDTH || height < MIN_HEIGHT) {
    throw new RangeError(`the demo panel needs at least ${MIN_WIDTH}x${MIN_HEIGHT}, got ${width}x${height}`);
  }
  const colW = Math.floor((width - 3 * MARGIN) / 2);
  const leftX = MARGIN;
  const rightX = 2 * MARGIN + colW;
  const top = TITLE_HEIGHT + MARGIN;
  const bottom = height - STATUS_HEIGHT - MARGIN;
  const innerW = colW - 2 * PAD;
  const halfW = Math.floor((innerW - GAP) / 2);

  const shutterGroup = rect(leftX, top, colW, GROUP_TITLE_HEIGHT + 36 + 8 + BUTTON_HEIGHT + 10);
  const sy = shutterGroup.y + GROUP_TITLE_HEIGHT;
  const shutterButtonsY = sy + 36 + 8;

  const motorGroup = rect(leftX, shutterGroup.y + shutterGroup.height + GAP, colW, GROUP_TITLE_HEIGHT + 76 + BUTTON_HEIGHT + 10);
  const my = motorGroup.y + GROUP_TITLE_HEIGHT;

  const sampleGroup = rect(leftX, motorGroup.y + motorGroup.height + GAP, colW, GROUP_TITLE_HEIGHT + 32 + 10);

  const interlockGroup = rect(rightX, top, colW, GROUP_TITLE_HEIGHT + 60 + 8 + 22 + 10);
  const interlockArea = rect(rightX + PAD, interlockGroup.y + GROUP_TITLE_HEIGHT, innerW, 60);
  const resetW = Math.min(240, interlockArea.width - INTERLOCK_PLATE_WIDTH - 30);
  const iy = interlockArea.y + interlockArea.height + 8;

  const logScale = logScaleFor(innerW);
  const logGroup = rect(rightX, interlockGroup.y + interlockGroup.height + GAP, colW,
    GROUP_TITLE_HEIGHT + LOG_LINES * 10 * logScale + 8 + 10);
  const helpY = logGroup.y + logGroup.height + GAP;
  const helpGroup = rect(rightX, helpY, colW, Math.max(GROUP_TITLE_HEIGHT + 10, bottom - helpY));

  const statusSplit = Math.floor(width * 0.62);

  return {
    title: rect(0, 0, width, TITLE_HEIGHT),
    shutterGroup,
    shutterLamp: rect(leftX + PAD, sy, 72, 36),
    shutterState: rect(leftX + PAD + 72 + GAP, sy, innerW - 72 - GAP, 36),
    openShutter: rect(leftX + PAD, shutterButtonsY, halfW, BUTTON_HEIGHT),
    closeShutter: rect(leftX + PAD + halfW + GAP, shutterButtonsY, halfW, BUTTON_HEIGHT),
    motorGroup,
    motorReadout: rect(leftX + PAD, my, innerW, 20),
    motorTarget: rect(leftX + PAD, my + 22, innerW, 20),
    motorBar: rect(leftX + PAD, my + 46, innerW, 16),
    jogMinus: rect(leftX + PAD, my + 76, halfW, BUTTON_HEIGHT),
    jogPlus: rect(leftX + PAD + halfW + GAP, my + 76, halfW, BUTTON_HEIGHT),
    sampleGroup,
    sampleField: rect(leftX + PAD, sampleGroup.y + GROUP_TITLE_HEIGHT, innerW, 32),
    interlockGroup,
    interlockArea,
    resetInterlock: rect(interlockArea.x + interlockArea.width - 10 - resetW, interlockArea.y + 12, resetW, 36),
    interlockLamp: rect(rightX + PAD, iy + 1, 20, 20),
    interlockStatus: rect(rightX + PAD + 28, iy, innerW - 28, 22),
    logGroup,
    eventLog: rect(rightX + PAD, logGroup.y + GROUP_TITLE_HEIGHT, innerW, LOG_LINES * 10 * logScale + 8),
    helpGroup,
    helpText: rect(rightX + PAD, helpGroup.y + GROUP_TITLE_HEIGHT, innerW, helpGroup.height - GROUP_TITLE_HEIGHT - 10),
    statusBar: rect(0, height - STATUS_HEIGHT, width, STATUS_HEIGHT),
    statusInput: rect(0, height - STATUS_HEIGHT, statusSplit, STATUS_HEIGHT),
    statusPointer: rect(statusSplit, height - STATUS_HEIGHT, width - statusSplit, STATUS_HEIGHT),
  };
}

/** The centre pixel of a widget: where tests click to hit it. */
export function widgetCentre(layout: PanelLayout, name: WidgetName): { x: number; y: number } {
  const r = layout[name];
  return { x: r.x + Math.floor(r.width / 2), y: r.y + Math.floor(r.height / 2) };
}
