import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AuditEvent } from './audit-record.js';
import { InvalidAuditEventError, normalizeAuditEvent, storableText } from './audit-event.js';
import { canonicalJson } from './hash-chain.js';

const at = new Date(Date.UTC(2025, 5, 1));

describe('normalizeAuditEvent', () => {
  it('omits absent fields and keeps the rest', () => {
    const event: AuditEvent = { code: 'auth.logout', at, actor: 'u1', message: 'bye', subject: undefined, beamline: 'p11' };
    assert.deepEqual(normalizeAuditEvent(event), { code: 'auth.logout', at, actor: 'u1', message: 'bye', beamline: 'p11' });
    assert.equal(Object.hasOwn(normalizeAuditEvent(event), 'subject'), false);
  });

  it('gives details the form they read back in from JSON text', () => {
    const normalized = normalizeAuditEvent({ code: 'access.denied', at, actor: 'anonymous', message: 'no', details: { b: -0, a: Number.NaN } });
    assert.equal(JSON.stringify(normalized.details), '{"a":null,"b":0}');
  });

  it('refuses an unknown code, an invalid date, an empty actor and details that are not an object', () => {
    const bad = (patch: Record<string, unknown>): AuditEvent => ({ code: 'auth.login', at, actor: 'u', message: 'm', ...patch });
    assert.throws(() => normalizeAuditEvent(bad({ code: 'auth.nothing' })), (e: unknown) => e instanceof InvalidAuditEventError && /not one of AUDIT_CODES/.test(e.message));
    assert.throws(() => normalizeAuditEvent(bad({ at: new Date(Number.NaN) })), /"at" must be a valid Date/);
    assert.throws(() => normalizeAuditEvent(bad({ actor: '' })), /"actor" must be/);
    assert.throws(() => normalizeAuditEvent(bad({ details: [1] })), /"details" must be a JSON object/);
    assert.throws(() => normalizeAuditEvent(bad({ details: { n: 1n } })), /must hold only JSON values/);
    assert.throws(() => normalizeAuditEvent(bad({ subject: 3 })), /"subject" must be a string/);
  });

  it('does not share the caller\'s Date', () => {
    const date = new Date(at);
    const normalized = normalizeAuditEvent({ code: 'auth.login', at: date, actor: 'u', message: 'm' });
    date.setTime(0);
    assert.equal(normalized.at.getTime(), at.getTime());
  });
});

describe('storableText', () => {
  it('replaces NUL and lone surrogates with U+FFFD and keeps surrogate pairs', () => {
    assert.equal(storableText('a\0b'), 'a\uFFFDb');
    assert.equal(storableText('x\uD800y\uDC00z'), 'x\uFFFDy\uFFFDz');
    assert.equal(storableText('\uD83D\uDE00 ok'), '\uD83D\uDE00 ok');
    assert.equal(storableText('\uDC00\uD800'), '\uFFFD\uFFFD');
  });

  it('makes any string survive a UTF-8 round trip unchanged', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
      const stored = storableText(s);
      assert.equal(Buffer.from(stored, 'utf8').toString('utf8'), stored);
      assert.equal(stored.includes('\0'), false);
    }));
  });

  it('leaves details to JSON escaping: they survive as text', () => {
    const normalized = normalizeAuditEvent({ code: 'auth.login', at, actor: 'u', message: 'm', details: { s: 'a\0\uD800' } });
    const text = canonicalJson(normalized.details);
    assert.equal(Buffer.from(text, 'utf8').toString('utf8'), text);
    assert.deepEqual(JSON.parse(text), { s: 'a\0\uD800' });
  });
});
