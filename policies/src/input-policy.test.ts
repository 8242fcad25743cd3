import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { beamlineInputPolicySchema, fallbackPolicy, inputPolicyJsonSchema, KIOSK_KEY_RULES } from './input-policy.js';
import { compilePolicy } from './input-rules.js';

const SCHEMA_FILE = 'policies/schema/beamline-input-policy.schema.json';

describe('beamline input policy format', () => {
  it(`${SCHEMA_FILE} is up to date (regenerate: node scripts/gen-policy-schema.mjs <build dir>)`, () => {
    assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), `${JSON.stringify(inputPolicyJsonSchema(), null, 2)}\n`);
  });

  it('the example kiosk policy is valid, names its beamline, and has 20+ rules', () => {
    const policy = beamlineInputPolicySchema.parse(parse(readFileSync('policies/beamlines/example-kiosk.yaml', 'utf8')));
    assert.equal(policy.beamline, 'example-kiosk');
    const compiled = compilePolicy(policy);
    assert.ok(compiled.rules.length >= 20, `${compiled.rules.length} rules`);
    assert.equal(new Set(compiled.rules.map(r => r.id)).size, compiled.rules.length, 'rule ids are unique');
  });

  it('a minimal file gets the conservative defaults: no key rules, no clipboard, no resize, a rate limit', () => {
    const policy = beamlineInputPolicySchema.parse({ version: 1, beamline: 'bl1' });
    assert.equal(policy.keys.defaults, 'none');
    assert.equal(policy.clipboard.browserToDesktop.allow, false);
    assert.equal(policy.clipboard.desktopToBrowser.allow, false);
    assert.equal(policy.resize.who, 'nobody');
    assert.deepEqual([policy.rateLimit.eventsPerSecond, policy.rateLimit.burst], [200, 400]);
  });

  it('the fallback (a beamline without a file) denies the kiosk combinations', () => {
    const ids = compilePolicy(fallbackPolicy('bl1')).rules.map(r => r.id);
    for (const rule of KIOSK_KEY_RULES) assert.ok(ids.includes(rule.id), rule.id);
  });

  const bad: [string, unknown, RegExp][] = [
    ['unknown key in a combo', { keys: { deny: [{ id: 'x', combos: ['Ctrl+Alt+F13'], reason: 'r' }] } }, /unknown key "F13"/],
    ['duplicate rule id', { keys: { deny: [{ id: 'x', combos: ['F1'], reason: 'r' }] }, pointer: { denyRegions: [{ id: 'x', x: 0, y: 0, width: 1, height: 1, reason: 'r' }] } }, /already used/],
    ['unknown field', { keys: { denny: [] } }, /denny/],
    ['empty region', { pointer: { denyRegions: [{ id: 'r', x: 0, y: 0, width: 0, height: 1, reason: 'r' }] } }, /too small|>=1/],
    ['resize bounds upside down', { resize: { who: 'holder', minWidth: 2000, maxWidth: 1000 } }, /must not exceed/],
    ['who is not a role', { resize: { who: 'everyone' } }, /nobody|staff|holder/],
  ];
  for (const [name, extra, message] of bad) {
    it(`refuses: ${name}`, () => {
      const result = beamlineInputPolicySchema.safeParse({ version: 1, beamline: 'bl1', ...(extra as object) });
      assert.ok(!result.success);
      assert.match(result.error.issues.map(i => `${i.path.join('.')}: ${i.message}`).join('\n'), message);
    });
  }
});
