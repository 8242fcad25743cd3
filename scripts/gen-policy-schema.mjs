// Writes policies/schema/beamline-input-policy.schema.json from the zod schema in
// policies/src/input-policy.ts. Run after a build, with the output directory of that build:
//   node scripts/gen-policy-schema.mjs [outDir=dist]
// A test (policies/src/input-policy.test.ts) fails when the committed file is out of date.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const outDir = process.argv[2] ?? 'dist';
const module = await import(pathToFileURL(resolve(outDir, 'policies/src/input-policy.js')).href);
const target = join('policies', 'schema', 'beamline-input-policy.schema.json');
writeFileSync(target, `${JSON.stringify(module.inputPolicyJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target}`);
