import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { DocumentError } from '../validated-document.js';
import { MAX_LISTED_PROBLEMS, parseUserOffice, parseUserOfficeJson, UserOfficeError } from './load.js';
import { lineOfText, sampleDocument, sampleJson } from './test-support.js';

/** The error parse throws, checked to be a UserOfficeError. */
function errorOf(parse: () => unknown): UserOfficeError {
  try {
    parse();
  } catch (e) {
    assert.ok(e instanceof UserOfficeError, `expected a UserOfficeError, got ${String(e)}`);
    assert.ok(e instanceof DocumentError);
    assert.equal(e.name, 'UserOfficeError');
    return e;
  }
  assert.fail('expected an error');
}

describe('parseUserOffice', () => {
  it('reads YAML, turns instants into Dates and fills the defaults', () => {
    const data = parseUserOffice(stringify(sampleDocument()), 'uo.yaml');
    const beamtime = data.beamtimes[0];
    assert.ok(beamtime !== undefined);
    assert.deepEqual(beamtime.start, new Date('2025-06-01T06:00:00Z'));
    assert.equal(data.beamlines[0]?.mode, 'remote-control');
    assert.equal(data.beamtimes[0]?.participants[1]?.role, 'participant');
    assert.deepEqual(data.users[1]?.onsiteExperience, []);
  });

  it('reads JSON with either parser, to the same data', () => {
    const text = sampleJson();
    assert.deepEqual(parseUserOfficeJson(text, 'feed'), parseUserOffice(text, 'feed'));
  });

  it('names the source for YAML that does not parse', () => {
    const e = errorOf(() => parseUserOffice('version: 1\nusers: [\n', '/etc/beamgate/uo.yaml'));
    assert.match(e.message, /^\/etc\/beamgate\/uo\.yaml: not valid YAML: /);
    assert.ok(e.cause instanceof DocumentError);
  });

  it('names the source for JSON that does not parse', () => {
    const e = errorOf(() => parseUserOfficeJson('{"version": 1,', 'https://uo.example/feed'));
    assert.match(e.message, /^https:\/\/uo\.example\/feed: not valid JSON: /);
  });

  it('reports a schema error with its path and line', () => {
    const text = sampleJson((doc) => {
      doc.beamtimes.push({ id: 'bt-2', beamline: 'p11', start: '2025-07-01T08:00:00Z', end: '2025-07-02T08:00:00Z' });
      doc.beamtimes.push({ id: 'bt-3', beamline: 'p11', start: '2025-07-01T08:00:00Z', end: 'tomorrow' });
    });
    const e = errorOf(() => parseUserOffice(text, 'uo.json'));
    const line = lineOfText(text, '"end": "tomorrow"');
    assert.equal(e.message, `uo.json: invalid user-office data:\n  beamtimes.2.end (line ${line}): Invalid ISO datetime`);
  });

  it('tells to quote ids that YAML read as numbers', () => {
    const e = errorOf(() => parseUserOffice('version: 1\nusers:\n  - id: 1234\n    name: Ada\n', 'uo.yaml'));
    assert.equal(e.message, 'uo.yaml: invalid user-office data:\n  users.0.id (line 3): Invalid input: expected string, received number (put ids made of digits in quotes: "1234")');
  });

  it('finds lines for JSON parsed by the fast path too', () => {
    const text = sampleJson((doc) => {
      doc['users'] = [{ id: 'u 1', name: 'Bad Id' }];
    });
    const e = errorOf(() => parseUserOfficeJson(text, 'feed'));
    assert.match(e.message, new RegExp(`users\\.0\\.id \\(line ${lineOfText(text, '"id": "u 1"')}\\): letters, digits`));
  });

  it('reports cross-reference problems with their path and line', () => {
    const text = sampleJson((doc) => {
      const bt = doc.beamtimes[0];
      if (bt !== undefined) bt['end'] = bt['start'];
      doc['remoteAccessGrants'] = [{ beamtime: 'bt-nope', user: 'u1001', status: 'approved' }];
    });
    const e = errorOf(() => parseUserOffice(text, 'uo.json'));
    assert.equal(e.message, [
      'uo.json: invalid user-office data:',
      `  beamtimes.0.end (line ${lineOfText(text, '"end"')}): the end must be after the start`,
      `  remoteAccessGrants.0.beamtime (line ${lineOfText(text, '"beamtime": "bt-nope"')}): unknown beamtime "bt-nope"`,
    ].join('\n'));
  });

  it('reports schema errors and cross-reference problems together, in document order', () => {
    const text = sampleJson((doc) => {
      doc['trainings'] = [{ user: 'u1001', kind: 'welding', validUntil: '2026-01-01T00:00:00Z' }];
      doc['users'] = [{ id: 'u1001' }];
    });
    const e = errorOf(() => parseUserOffice(text, 'uo.json'));
    assert.equal(e.message, [
      'uo.json: invalid user-office data:',
      // name is missing: the line is the entry's ({ is the line before its id).
      `  users.0.name (line ${lineOfText(text, '"id": "u1001"') - 1}): Invalid input: expected string, received undefined`,
      `  trainings.0.kind (line ${lineOfText(text, '"kind": "welding"')}): unknown training kind "welding" (add it to trainingKinds)`,
    ].join('\n'));
  });

  it('does not call an entry unknown when only its other fields are wrong', () => {
    const text = sampleJson((doc) => {
      const beamline = (doc['beamlines'] as Record<string, unknown>[])[0];
      if (beamline !== undefined) beamline['mode'] = 'remote';
      doc['trainingKinds'] = { 'general-safety': '', 'radiation-protection': 'Radiation protection' };
    });
    const e = errorOf(() => parseUserOffice(text, 'uo.json'));
    assert.doesNotMatch(e.message, /unknown/);
    assert.match(e.message, /beamlines\.0\.mode \(line \d+\): Invalid option/);
    assert.match(e.message, /trainingKinds\.general-safety \(line \d+\): Too small/);
  });

  it('still checks references when a whole collection is the wrong type', () => {
    const text = sampleJson((doc) => {
      doc['users'] = 'everyone';
      doc['remoteAccessGrants'] = [{ beamtime: 'bt-x', user: 'u1001', status: 'approved' }];
    });
    const e = errorOf(() => parseUserOffice(text, 'uo.json'));
    assert.match(e.message, /users \(line \d+\): Invalid input: expected array, received string/);
    assert.match(e.message, /remoteAccessGrants\.0\.beamtime \(line \d+\): unknown beamtime "bt-x"/);
  });

  it('says what is wrong at the top level', () => {
    assert.match(errorOf(() => parseUserOffice('', 'uo.yaml')).message, /^uo\.yaml: invalid user-office data:\n {2}\(top level\): Invalid input: expected object/);
    assert.match(errorOf(() => parseUserOffice('version: 2\n', 'uo.yaml')).message, /version \(line 1\): Invalid input: expected 1/);
  });

  it(`lists at most ${MAX_LISTED_PROBLEMS} problems and counts the rest`, () => {
    const text = sampleJson((doc) => {
      doc['trainings'] = Array.from({ length: MAX_LISTED_PROBLEMS + 7 }, (_, i) => ({ user: `u${i}`, kind: 'nope', validUntil: '2026-01-01T00:00:00Z' }));
    });
    const lines = errorOf(() => parseUserOffice(text, 'uo.json')).message.split('\n');
    assert.equal(lines.length, 1 + MAX_LISTED_PROBLEMS + 1);
    assert.equal(lines.at(-1), '  ... and 7 more problems');
  });

  it('throws nothing but UserOfficeError, whatever the input (property)', () => {
    const collection = fc.array(fc.oneof(fc.anything(), fc.record({ id: fc.oneof(fc.string(), fc.constantFrom('p11', 'bt-1', 'u1')), beamline: fc.string() })));
    const documents = fc.oneof(
      fc.jsonValue(),
      fc.record({
        version: fc.oneof(fc.constant(1), fc.anything()),
        trainingKinds: fc.anything(),
        users: collection,
        beamlines: collection,
        beamtimes: collection,
        remoteAccessGrants: collection,
        trainings: collection,
        acknowledgements: collection,
      }, { requiredKeys: [] }),
    );
    fc.assert(fc.property(documents, fc.boolean(), (doc, asJson) => {
      const text = JSON.stringify(doc) as string | undefined ?? 'null';
      try {
        if (asJson) parseUserOfficeJson(text, 'x');
        else parseUserOffice(text, 'x');
      } catch (e) {
        assert.ok(e instanceof UserOfficeError, String(e));
        assert.match(e.message, /^x: /);
      }
    }), { numRuns: 300 });
  });
});

describe('docs/user-office-data.md', () => {
  it('has a complete example that is valid', () => {
    const doc = readFileSync('docs/user-office-data.md', 'utf8');
    const example = /<!-- complete example -->\s*```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(example !== undefined, 'the complete example (a yaml block after <!-- complete example -->) is missing');
    const data = parseUserOffice(example, 'docs example');
    for (const [key, list] of Object.entries(data)) {
      if (Array.isArray(list)) assert.ok(list.length > 0, `the example shows no ${key}`);
    }
  });
});
