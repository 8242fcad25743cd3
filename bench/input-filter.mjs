// Micro benchmark of the per-beamline input filter: nanoseconds per client-to-server message with
// the example kiosk policy (20+ rules) against an empty policy, on a realistic mix of input
// (typing, pointer motion, clicks, combos that are denied). Pure CPU; no sockets.
// Run after a build:  node bench/input-filter.mjs [outDir=dist]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';

const outDir = process.argv[2] ?? 'dist';
const load = path => import(pathToFileURL(resolve(outDir, path)).href);
const { beamlineInputPolicySchema } = await load('policies/src/input-policy.js');
const { compilePolicy, createFilterState, filterInput } = await load('policies/src/input-rules.js');

const example = compilePolicy(beamlineInputPolicySchema.parse(parse(readFileSync('policies/beamlines/example-kiosk.yaml', 'utf8'))));
const empty = compilePolicy(beamlineInputPolicySchema.parse({ version: 1, beamline: 'empty' }));

const q = (down, keysym, keycode) => ({ type: 'QemuExtendedKeyEvent', down, keysym, keycode });
const mix = [];
for (let i = 0; i < 200; i++) {
  const letter = 0x61 + (i % 26);
  mix.push(q(true, letter, 0x1e + (i % 9)), q(false, letter, 0x1e + (i % 9)));
  mix.push({ type: 'PointerEvent', buttonMask: 0, x: (i * 7) % 1920, y: (i * 3) % 1080 });
  mix.push({ type: 'PointerEvent', buttonMask: i % 10 === 0 ? 1 : 0, x: (i * 11) % 1920, y: (i * 5) % 1080 });
  mix.push({ type: 'FramebufferUpdateRequest', incremental: true, x: 0, y: 0, width: 1920, height: 1080 });
}
// A denied combination now and then.
mix.push(q(true, 0xffe3, 0x1d), q(true, 0xffe9, 0x38), q(true, 0xffbe, 0x3b), q(false, 0xffbe, 0x3b), q(false, 0xffe9, 0x38), q(false, 0xffe3, 0x1d));

function run(policy, rounds) {
  const state = createFilterState();
  const ctx = { now: 0, staff: false, holder: true, viewOnlyBeamline: false };
  let forwarded = 0;
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    for (const message of mix) {
      ctx.now += 10; // 100 messages/s: under both rate limits, so every rule is evaluated, not cut short
      if (filterInput(state, message, ctx, policy).forward) forwarded++;
    }
  }
  const ns = Number(process.hrtime.bigint() - start) / (rounds * mix.length);
  return { ns, forwarded };
}

for (const policy of [example, empty]) run(policy, 200); // warm-up: let the JIT settle
const results = {};
for (let trial = 0; trial < 5; trial++) {
  for (const [name, policy] of [['example-kiosk', example], ['empty', empty]]) {
    const { ns } = run(policy, 500);
    results[name] = Math.min(results[name] ?? Infinity, ns);
  }
}
console.log(`messages per round: ${mix.length}`);
for (const [name, ns] of Object.entries(results)) console.log(`${name.padEnd(14)} ${ns.toFixed(1)} ns/message (best of 5)`);
console.log(`forwarded with the example policy: ${run(example, 1).forwarded} of ${mix.length} (denied combo, clicks in regions dropped)`);
