// The control channel's messages (WebSocket, JSON), versioned and validated on both ends: the
// gateway parses what browsers send with these schemas, and the browser client parses what the
// gateway sends with the same file (bundled). Version 1.
import { z } from 'zod';

export const CONTROL_PROTOCOL_VERSION = 1;

const text = (max: number) => z.string().max(max);
const id = z.string().min(1).max(128);

/** Browser -> gateway: what a person asks for. */
export const clientMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ v: z.literal(1), type: z.literal('request'), message: text(500).default('') }),
  z.strictObject({ v: z.literal(1), type: z.literal('cancel-request') }),
  z.strictObject({ v: z.literal(1), type: z.literal('grant'), requestId: id }),
  z.strictObject({ v: z.literal(1), type: z.literal('deny'), requestId: id, reason: text(500).default('') }),
  z.strictObject({ v: z.literal(1), type: z.literal('release') }),
  z.strictObject({ v: z.literal(1), type: z.literal('hand-over'), toUserId: id }),
  z.strictObject({ v: z.literal(1), type: z.literal('accept-hand-over') }),
  z.strictObject({ v: z.literal(1), type: z.literal('decline-hand-over') }),
  z.strictObject({ v: z.literal(1), type: z.literal('take-over'), reason: text(500).default('') }),
  z.strictObject({ v: z.literal(1), type: z.literal('revoke'), reason: text(500).default('') }),
  z.strictObject({ v: z.literal(1), type: z.literal('lock') }),
  z.strictObject({ v: z.literal(1), type: z.literal('unlock') }),
  z.strictObject({ v: z.literal(1), type: z.literal('remove'), connection: id, reason: text(500).default('') }),
]);
export type ClientMessage = z.output<typeof clientMessageSchema>;

const personSchema = z.strictObject({ userId: z.string(), name: z.string() });

export const stateMessageSchema = z.strictObject({
  v: z.literal(1),
  type: z.literal('state'),
  you: z.strictObject({ connection: z.string(), userId: z.string(), staff: z.boolean(), canControl: z.boolean(), holding: z.boolean() }),
  mode: z.enum(['free', 'held', 'locked']),
  holder: personSchema.extend({ disconnected: z.boolean() }).optional(),
  lockedBy: personSchema.optional(),
  epoch: z.number().int(),
  participants: z.array(personSchema.extend({ connection: z.string(), staff: z.boolean(), canControl: z.boolean() })),
  queue: z.array(personSchema.extend({ id: z.string(), message: z.string(), at: z.number() })),
  offer: z.strictObject({ from: personSchema, toUserId: z.string() }).optional(),
});
export type StateMessage = z.output<typeof stateMessageSchema>;

/** Gateway -> browser. */
export const serverMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ v: z.literal(1), type: z.literal('hello'), connection: z.string() }),
  stateMessageSchema,
  z.strictObject({ v: z.literal(1), type: z.literal('notice'), text: z.string() }),
  z.strictObject({ v: z.literal(1), type: z.literal('refused'), action: z.string(), reason: z.string() }),
  z.strictObject({ v: z.literal(1), type: z.literal('error'), code: z.string(), message: z.string() }),
]);
export type ServerMessage = z.output<typeof serverMessageSchema>;

/** Parses a browser's message; a clear error for anything else (the channel answers with it). */
export function parseClientMessage(data: string): { ok: true; message: ClientMessage } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  const result = clientMessageSchema.safeParse(value);
  if (!result.success) {
    const first = result.error.issues[0];
    return { ok: false, error: `invalid control message: ${first === undefined ? 'unknown problem' : `${first.path.join('.') || '(message)'}: ${first.message}`}` };
  }
  return { ok: true, message: result.data };
}
