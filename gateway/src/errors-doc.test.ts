// Every error code the gateway can report is documented in docs/errors.md.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES as GATEWAY_CODES } from './rfb/errors.js';
import { STORE_ERROR_CODES } from './store/store-error.js';

const ERROR_CODES: readonly string[] = [...GATEWAY_CODES, ...STORE_ERROR_CODES];

it('docs/errors.md documents every error code, and no code that does not exist', () => {
  const doc = readFileSync('docs/errors.md', 'utf8');
  const documented = new Set(doc.match(/GW_ERR_[A-Z0-9_]+/g) ?? []);
  assert.deepEqual(ERROR_CODES.filter(c => !documented.has(c)), [], 'codes missing from docs/errors.md');
  assert.deepEqual([...documented].filter(c => !ERROR_CODES.includes(c)), [], 'documented codes that do not exist');
});
