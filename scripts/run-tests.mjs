// Runs every compiled test file (dist/**/*.test.js) with node's own test runner.
// Node 20 has no glob support in --test, so the files are listed here.
// Usage: node scripts/run-tests.mjs [substring ...]  (only files whose path contains one of them)
// TEST_DIR=.build/x runs the tests of a build made with BUILD_OUT=.build/x.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const dir = process.env.TEST_DIR ?? 'dist';
const files = collect(dir, []).filter(f => filters.length === 0 || filters.some(s => f.includes(s))).sort();
if (files.length === 0) {
  console.error(`no test files found under ${dir}/ (did the build run?)`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=120000', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
