// Build: type-check and compile the server (tsc -> dist/), type-check the browser client,
// bundle it with esbuild (noVNC 1.7 is ESM with top-level await, so target es2022, format esm).
import { execFileSync } from 'node:child_process';
import { rmSync, mkdirSync, cpSync } from 'node:fs';
import { build } from 'esbuild';

// BUILD_OUT=.build/x builds elsewhere (parallel work must not replace dist/ under a running suite).
const out = process.env.BUILD_OUT ?? 'dist';
const tsc = ['node_modules/typescript/bin/tsc'];
rmSync(out, { recursive: true, force: true });
execFileSync(process.execPath, [...tsc, '-p', 'tsconfig.json', '--outDir', out], { stdio: 'inherit' });
execFileSync(process.execPath, [...tsc, '-p', 'kiosk-client/tsconfig.json'], { stdio: 'inherit' });
mkdirSync(`${out}/kiosk-client`, { recursive: true });
cpSync('kiosk-client/public', `${out}/kiosk-client`, { recursive: true });
await build({
  entryPoints: { view: 'kiosk-client/src/view.ts', portal: 'kiosk-client/src/portal.ts', recording: 'kiosk-client/src/recording.ts',
    audit: 'kiosk-client/src/audit.ts' },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  outdir: `${out}/kiosk-client`,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
