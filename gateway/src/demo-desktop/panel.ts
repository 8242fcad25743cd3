// The built-in demo desktop's beamline control panel, as seen by the RFB server and tests:
// a reducer that also reports which screen regions changed, plus rendering and layout.
// Pure: no I/O, no timers, no sockets; time arrives in 'tick' events.

import { applyEvent, type PanelEvent, type PanelState } from './model.js';
import type { Rect } from './rect.js';
import { changedRegions } from './widgets.js';

export {
  BUTTON_NAMES, formatMm, initialPanelState, JOG_STEP_MM, MOTOR_MAX_MM, MOTOR_MIN_MM, MOTOR_SPEED_MM_PER_S,
  MOTOR_START_MM, SAMPLE_MAX_LENGTH,
} from './model.js';
export type { ButtonName, LogEntry, PanelEvent, PanelState } from './model.js';
export {
  DEFAULT_HEIGHT, DEFAULT_WIDTH, LOG_LINES, MIN_HEIGHT, MIN_WIDTH, PANEL_PARENT, panelLayout, WIDGET_NAMES, widgetCentre,
} from './layout.js';
export type { PanelLayout, WidgetName } from './layout.js';
export { BUTTON_LABELS, PANEL_TITLE, renderPanel, renderRegions } from './widgets.js';
export { COLOURS } from './theme.js';
export type { Rect } from './rect.js';

export interface PanelUpdate {
  readonly state: PanelState;
  /** Screen regions whose pixels may differ between rendering the old and the new state. */
  readonly dirty: Rect[];
}

export function reducePanel(state: PanelState, event: PanelEvent): PanelUpdate {
  const next = applyEvent(state, event);
  return { state: next, dirty: changedRegions(state, next) };
}
