// A control-channel client for tests: opens /control/:id with a session cookie, records every
// message, and waits for states and notices.
import WebSocket from 'ws';
import { serverMessageSchema, type ClientMessage, type ServerMessage, type StateMessage } from '../control/protocol.js';

export interface ControlClient {
  readonly ws: WebSocket;
  readonly connection: string;
  readonly messages: ServerMessage[];
  send(message: ClientMessage): void;
  /** The newest state. */
  state(): StateMessage | undefined;
  /** Resolves with the first state (already received or to come) that passes the test. */
  waitForState(test: (s: StateMessage) => boolean, timeoutMs?: number): Promise<StateMessage>;
  waitFor(test: (m: ServerMessage) => boolean, timeoutMs?: number): Promise<ServerMessage>;
  closed: Promise<{ code: number; reason: string }>;
}

export async function openControlClient(url: string, headers: Record<string, string>): Promise<ControlClient> {
  const ws = new WebSocket(url, { headers });
  const messages: ServerMessage[] = [];
  let newestState: StateMessage | undefined;
  const waiters: { test: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
    });
  });
  ws.on('message', (data: Buffer) => {
    const message = serverMessageSchema.parse(JSON.parse(data.toString('utf8')));
    messages.push(message);
    if (message.type === 'state') newestState = message;
    for (const w of [...waiters]) {
      if (w.test(message)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(message);
      }
    }
  });
  /** The first message from index `from` on (already received or to come) that passes the test. */
  const waitFrom = (from: number, test: (m: ServerMessage) => boolean, timeoutMs: number): Promise<ServerMessage> => {
    for (let i = from; i < messages.length; i++) {
      const m = messages[i];
      if (m !== undefined && test(m)) return Promise.resolve(m);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no matching control message within ${timeoutMs} ms; got ${JSON.stringify(messages.slice(-3))}`));
      }, timeoutMs);
      waiters.push({ test, resolve: (m) => {
        clearTimeout(timer);
        resolve(m);
      } });
    });
  };
  const waitFor = (test: (m: ServerMessage) => boolean, timeoutMs = 5000): Promise<ServerMessage> => waitFrom(0, test, timeoutMs);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => {
      resolve();
    });
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`HTTP ${res.statusCode ?? '?'}`));
    });
  });
  const hello = await waitFor(m => m.type === 'hello');
  const connection = hello.type === 'hello' ? hello.connection : '';
  return {
    ws, connection, messages, closed, waitFor,
    send: (message) => {
      ws.send(JSON.stringify(message));
    },
    state: () => newestState,
    waitForState: async (test, timeoutMs = 5000) => {
      // The newest state counts, and every one from now on.
      if (newestState !== undefined && test(newestState)) return newestState;
      const m = await waitFrom(messages.length, x => x.type === 'state' && test(x), timeoutMs);
      return m as StateMessage;
    },
  };
}
