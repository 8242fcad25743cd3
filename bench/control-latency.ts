// Control-change latency: how long after a control action every connected viewer learns the
// new holder. Starts the login rig (gateway + local provider + demo desktop, loopback only),
// opens N control channels (one watcher session, N tabs) plus a remote user and a local
// contact, then alternates request/take-over/release and measures, per change, the time from
// sending the action until the last of the N watchers has a state with the new holder.
// Usage: node dist/bench/control-latency.js [viewers=100] [changes=50]
import { startLoginRig } from '../gateway/src/testing/login-rig.js';
import { openControlClient, type ControlClient } from '../gateway/src/testing/control-client.js';

const viewers = Number(process.argv[2] ?? 100);
const changes = Number(process.argv[3] ?? 50);

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const rig = await startLoginRig({ reevaluateSeconds: 60 });
  try {
    const ws = rig.base.replace('http:', 'ws:');
    const headers = (cookie: string): Record<string, string> => ({ origin: rig.base, cookie });
    const alice = await rig.login('alice.remote');
    await rig.acknowledgeInstruction(alice);
    const carol = await rig.login('carol.contact');
    const sam = await rig.login('sam.safety');
    const driver = await openControlClient(`${ws}/control/bl-demo`, headers(alice.cookie));
    const staff = await openControlClient(`${ws}/control/bl-demo`, headers(carol.cookie));
    const watchers: ControlClient[] = [];
    for (let i = 0; i < viewers; i++) watchers.push(await openControlClient(`${ws}/control/bl-demo`, headers(sam.cookie)));
    const samples: number[] = [];
    for (let i = 0; i < changes; i++) {
      // Alternate: alice takes the free token; carol takes over; carol releases.
      const steps: [ControlClient, Parameters<ControlClient['send']>[0], string | undefined][] = [
        [driver, { v: 1, type: 'request', message: '' }, 'F-1001'],
        [staff, { v: 1, type: 'take-over', reason: 'bench' }, 'F-2001'],
        [staff, { v: 1, type: 'release' }, undefined],
      ];
      for (const [who, action, holder] of steps) {
        const started = performance.now();
        const all = Promise.all(watchers.map(w => w.waitForState(s => s.holder?.userId === holder, 5000)));
        all.catch(() => undefined);
        who.send(action);
        await all.catch((e: unknown) => {
          const last = who.messages.slice(-3).map(m => (m.type === 'state' ? `state(${m.mode}, holder ${m.holder?.userId ?? '-'})` : JSON.stringify(m)));
          throw new Error(`${action.type} by ${who === driver ? 'the remote user' : 'the local contact'} did not reach every viewer: ${(e as Error).message.slice(0, 80)}; the actor last got ${last.join(', ')}`);
        });
        samples.push(performance.now() - started);
        // Stay under the channel's rate limit (10 messages a second per browser).
        await new Promise(r => setTimeout(r, 150));
      }
    }
    samples.sort((a, b) => a - b);
    const result = {
      viewers, changes: samples.length,
      p50_ms: quantile(samples, 0.5), p90_ms: quantile(samples, 0.9), p99_ms: quantile(samples, 0.99), max_ms: samples.at(-1),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    for (const c of [driver, staff, ...watchers]) c.ws.close();
  } finally {
    await rig.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`control-latency: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
