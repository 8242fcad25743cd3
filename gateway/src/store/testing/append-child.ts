// Test helper process: opens the store named by argv[2] (a StoreConfig as JSON) and appends
// audit records one after another, printing "ack <seq> <hash>" as soon as each append has
// resolved. argv[3] is how many to append (default: until killed), argv[4] the actor.
// The crash test SIGKILLs it right after reading an ack; everything acked must survive.
import { randomBytes } from 'node:crypto';
import { openStore } from '../store.js';
import type { StoreConfig } from '../types.js';

const [configJson, countText, actor = 'child'] = process.argv.slice(2);
if (configJson === undefined) {
  process.stderr.write('usage: append-child.js CONFIG_JSON [COUNT] [ACTOR]\n');
  process.exit(2);
}
const config = JSON.parse(configJson) as StoreConfig;
const count = countText === undefined ? Number.POSITIVE_INFINITY : Number(countText);

// The token key is irrelevant here: this process only writes the audit log.
const store = await openStore(config, { tokenKey: randomBytes(32) });
process.stdout.write('ready\n');
for (let n = 1; n <= count; n++) {
  const record = await store.audit.append({
    code: 'viewer.joined', at: new Date(), actor, message: `${actor} append ${n}`, details: { n, pid: process.pid },
  });
  process.stdout.write(`ack ${record.seq} ${record.hash}\n`);
}
await store.close();
