// Durability: a process appending to the audit log is SIGKILLed right after an append was
// acknowledged; every acknowledged record must be in the log afterwards and the chain intact.
// Also: several processes appending to one database at once (on SQLite that is the only way
// to get two writers, see audit-log.test.ts) leave one gapless chain.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describeEachBackend, type TestBackend } from './testing/backends.js';
import type { StoreConfig } from './types.js';

const CHILD = fileURLToPath(new URL('./testing/append-child.js', import.meta.url));

interface Ack {
  readonly seq: number;
  readonly hash: string;
}

/**
 * Runs append-child until it has acknowledged `stopAfter` records, then SIGKILLs it (or, when
 * stopAfter is undefined, lets it append `count` and exit). Returns the acks read.
 */
async function runChild(config: StoreConfig, options: { stopAfter?: number; count?: number; actor?: string }): Promise<Ack[]> {
  const args = [CHILD, JSON.stringify(config), ...(options.count === undefined ? [] : [String(options.count), options.actor ?? 'child'])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const acks: Ack[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    const match = /^ack (\d+) ([0-9a-f]{64})$/.exec(line);
    if (match === null) continue;
    acks.push({ seq: Number(match[1]), hash: match[2]! });
    if (acks.length === options.stopAfter) {
      child.kill('SIGKILL');
      break;
    }
  }
  const [code, signal] = await exited;
  if (options.stopAfter !== undefined) {
    assert.equal(signal, 'SIGKILL', `the child ended on its own after ${acks.length} acks (exit ${code}): ${stderr}`);
  } else {
    assert.equal(code, 0, `the child failed after ${acks.length} acks: ${stderr}`);
  }
  return acks;
}

async function assertAcknowledgedRecordsSurvived(backend: TestBackend, config: StoreConfig, acks: readonly Ack[]): Promise<number> {
  const { store } = await backend.open(config);
  try {
    const check = await store.audit.verify();
    assert.equal(check.ok, true, check.ok ? '' : `chain broken at ${check.firstBadSeq}: ${check.problem}`);
    const stored = new Map((await store.audit.query({})).map(r => [r.seq, r.hash]));
    for (const ack of acks) assert.equal(stored.get(ack.seq), ack.hash, `acknowledged record ${ack.seq} is missing or different`);
    return stored.size;
  } finally {
    await store.close();
  }
}

describeEachBackend('audit log after SIGKILL', (backend) => {
  it('keeps every acknowledged record across three kills, and the chain verifies', { timeout: 90_000 }, async () => {
    const config = backend.freshConfig();
    const acks: Ack[] = [];
    for (const stopAfter of [7, 23, 15]) {
      const round = await runChild(config, { stopAfter });
      assert.equal(round.length, stopAfter);
      acks.push(...round);
      const stored = await assertAcknowledgedRecordsSurvived(backend, config, acks);
      // The child may have committed a few more before the signal landed: those are in the chain too (verified above).
      assert.ok(stored >= acks.length, `${stored} records for ${acks.length} acks`);
    }
    assert.deepEqual(acks.map(a => a.seq), [...new Set(acks.map(a => a.seq))].sort((a, b) => a - b), 'acks are increasing and unique');
  });

  it('gives one gapless chain when three processes append at once to a fresh database', { timeout: 90_000 }, async () => {
    const config = backend.freshConfig();
    const perChild = 40;
    const rounds = await Promise.all(['a', 'b', 'c'].map(actor => runChild(config, { count: perChild, actor })));
    const acks = rounds.flat();
    assert.equal(acks.length, 3 * perChild);
    assert.deepEqual(acks.map(a => a.seq).sort((x, y) => x - y), Array.from({ length: 3 * perChild }, (_, i) => i + 1));
    assert.equal(await assertAcknowledgedRecordsSurvived(backend, config, acks), 3 * perChild);
  });
});
