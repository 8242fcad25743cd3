// Test fixture: a real kiosk VNC desktop (Xtigervnc + openbox, via scripts/kiosk/start-kiosk.sh)
// whose one allow-listed application is `xev`, so a test can check what the X server actually
// delivered: every KeyPress/KeyRelease (keysym name, keycode) and ButtonPress/ButtonRelease
// (button, root coordinates) that reached the focused application window.
//
// Each desktop lives in a fresh temp dir with a random VncAuth password and -UseBlacklist=0
// (tests make deliberate bad logins). It listens on loopback only (127.0.0.1 and ::1), is tied to this
// process (--exit-with), and goes away even if a test forgets stop() or the runner dies.
// Besides the input log, a test can ask the X server who owns a selection (did a ClientCutText
// arrive?), what the screen size is (did a SetDesktopSize arrive?), and can crash Xvnc on purpose.
// Test-only: never import it from the gateway; it never touches a desktop it did not start.
//
// Manual use (after `npm run build`):
//   node dist/gateway/src/testing/kiosk-fixture.js [--geometry 1024x768] [--password pw] [--name n]
// prints the display, RFB port and password, and on Ctrl-C prints the input log and stops.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseXwd, xwdToPng, type XwdImage } from './xwd-png.js';
import { mitCookie } from './x11-client.js';

/**
 * One event as the X application received it. `keysym` is the X keysym name as xev prints it
 * ('a', 'Shift_L', 'parenright'), `keycode` the X keycode; `x`/`y` are root (screen)
 * coordinates, i.e. what the RFB PointerEvent carried, since the window fills the screen.
 */
export type InputRecord =
  | { kind: 'key'; down: boolean; keysym: string; keycode: number }
  | { kind: 'button'; down: boolean; button: number; x: number; y: number };

export interface KioskDesktop {
  /** X display, e.g. ':3' (use with `xauthority` for X clients of your own). */
  display: string;
  rfbHost: '127.0.0.1';
  rfbPort: number;
  /** The full-access VncAuth password. */
  password: string;
  /** Desktop name sent in ServerInit. */
  name: string;
  /** The X authority file (MIT cookie) that X clients need to open `display`. */
  xauthority: string;
  /** The kiosk's state dir (logs: xvnc.log, openbox.log, app-0.log = the xev output). */
  stateDir: string;
  /** Every key and button event the xev window received so far, in order. */
  inputLog(): Promise<InputRecord[]>;
  /** Saves a PNG of the whole X screen (xwd -root, converted in-process). */
  screenshotPng(path: string): Promise<void>;
  /** The whole X screen as packed RGB (xwd -root; X draws no pointer into it). */
  screenshot(): Promise<XwdImage>;
  /**
   * The window that owns an X selection ('PRIMARY', 'CLIPBOARD'), 0 when none does. Xvnc takes
   * both when a viewer's ClientCutText arrives; xev and openbox never own them.
   */
  selectionOwner(selection: string): Promise<number>;
  /** The X screen's current size (xdpyinfo), which a SetDesktopSize that got through changes. */
  screenSize(): Promise<{ width: number; height: number }>;
  /** Simulates an Xvnc crash: SIGKILL to the Xtigervnc process (the kiosk supervisor then stops the rest). */
  killXvnc(): Promise<void>;
  /** Stops everything this desktop started and removes its temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

export interface KioskDesktopOptions {
  geometry?: string;
  password?: string;
  name?: string;
  /**
   * Xtigervnc's -SecurityTypes instead of start-kiosk.sh's fixed 'VncAuth', e.g. 'TLSVnc'
   * (anonymous-TLS VeNCrypt with VncAuth inside). start-kiosk.sh refuses security parameters in
   * --xvnc-arg, so the fixture puts a test-only Xtigervnc shim first on the kiosk's PATH that
   * swaps the value (see xvncShim); the rest of the recipe is unchanged.
   */
  securityTypes?: string;
  /** start-kiosk.sh --allow-resize: Xvnc accepts SetDesktopSize (default: fixed geometry). */
  allowResize?: boolean;
}

/** Binaries the fixture needs and the Debian package of each. */
const REQUIRED_TOOLS: readonly (readonly [binary: string, debianPackage: string])[] = [
  ['Xtigervnc', 'tigervnc-standalone-server'],
  ['vncpasswd', 'tigervnc-tools'],
  ['xev', 'x11-utils'],
  ['xprop', 'x11-utils'],
  ['xdpyinfo', 'x11-utils'],
  ['openbox', 'openbox'],
  ['xdotool', 'xdotool'],
];
const SINK_NAME = 'beamgate-input-sink';

/** The full path of an executable on PATH, or undefined. */
function findOnPath(binary: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, binary), fsConstants.X_OK);
      return join(dir, binary);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function onPath(binary: string): boolean {
  return findOnPath(binary) !== undefined;
}

/** The missing tools as 'binary (Debian package)'; empty when everything is installed. */
export function missingKioskTools(): string[] {
  return REQUIRED_TOOLS.filter(([binary]) => !onPath(binary)).map(([binary, pkg]) => `${binary} (${pkg})`);
}

/** True when Xtigervnc, xev and the rest of the kiosk's tools are installed. */
export function xvncAvailable(): boolean {
  return missingKioskTools().length === 0;
}

/** The message a test should fail with when xvncAvailable() is false. */
export function kioskToolsMissingMessage(): string {
  return `the kiosk desktop needs ${missingKioskTools().join(', ')}: run \`bash .ci/install-deps\` (CI does)`;
}

function findKioskScripts(): string {
  // Works from gateway/src/testing (ts) and dist/gateway/src/testing (js) alike.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'scripts', 'kiosk');
    if (existsSync(join(candidate, 'start-kiosk.sh'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('scripts/kiosk/start-kiosk.sh not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(file, args, { env: options.env ?? process.env, timeout: options.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const detail = stderr.trim() || stdout.trim();
          reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}${detail ? `\n${detail}` : ''}`));
        } else {
          resolvePromise(stdout);
        }
      });
  });
}

function runBuffer(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    execFile(file, args, { env, encoding: 'buffer', timeout: 30_000, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stderr.toString('utf8').trim()}`));
      else resolvePromise(stdout);
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

/** Parses xev's output: KeyPress/KeyRelease and ButtonPress/ButtonRelease only. */
export function parseXevLog(text: string): InputRecord[] {
  const records: InputRecord[] = [];
  for (const block of text.split(/\n[ \t]*\n/)) {
    const head = /^\s*(KeyPress|KeyRelease|ButtonPress|ButtonRelease) event/.exec(block);
    if (!head) continue;
    const type = head[1];
    if (type === 'KeyPress' || type === 'KeyRelease') {
      const key = /keycode (\d+) \(keysym 0x[0-9a-fA-F]+, ([^)]*)\)/.exec(block);
      if (!key) continue;
      records.push({ kind: 'key', down: type === 'KeyPress', keysym: key[2] ?? '', keycode: Number(key[1]) });
    } else {
      const button = /\bbutton (\d+)/.exec(block);
      const root = /root:\((-?\d+),(-?\d+)\)/.exec(block);
      if (!button || !root) continue;
      records.push({ kind: 'button', down: type === 'ButtonPress', button: Number(button[1]), x: Number(root[1]), y: Number(root[2]) });
    }
  }
  return records;
}

/** Waits until the xev window exists, fills the screen and has the keyboard focus. */
async function focusInputSink(env: NodeJS.ProcessEnv, geometry: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  let window = '';
  while (window === '') {
    const out = await run('xdotool', ['search', '--name', `^${SINK_NAME}$`], { env, timeoutMs: 5000 }).catch(() => '');
    window = out.split('\n').find(l => /^\d+$/.test(l.trim()))?.trim() ?? '';
    if (window !== '') break;
    if (Date.now() > deadline) throw new Error('the xev input sink window never appeared (see app-0.log)');
    await sleep(50);
  }
  const [width, height] = geometry.split('x');
  for (;;) {
    // openbox focuses new windows itself; activating again is harmless and covers the case
    // where the window appeared while openbox was still starting.
    await run('xdotool', ['windowactivate', '--sync', window], { env, timeoutMs: 5000 }).catch(() => '');
    await run('xdotool', ['windowfocus', '--sync', window], { env, timeoutMs: 5000 }).catch(() => '');
    const focus = (await run('xdotool', ['getwindowfocus'], { env, timeoutMs: 5000 }).catch(() => '')).trim();
    const geo = await run('xdotool', ['getwindowgeometry', window], { env, timeoutMs: 5000 }).catch(() => '');
    if (focus === window && geo.includes(`Geometry: ${width ?? ''}x${height ?? ''}`)) return window;
    if (Date.now() > deadline) {
      throw new Error(`the xev input sink ${window} did not get focus and fill the screen (focus ${focus}; ${geo.trim()})`);
    }
    await sleep(100);
  }
}

/**
 * An `Xtigervnc` that replaces the value of the -SecurityTypes parameter start-kiosk.sh passes
 * and runs the real binary in its place (exec: same PID, same inherited displayfd). It fails if the
 * script did not pass -SecurityTypes, so a changed script cannot silently fall back to VncAuth.
 */
function xvncShim(realXvnc: string, securityTypes: string): string {
  return [
    '#!/usr/bin/env bash',
    '# Test-only (kiosk-fixture.ts): swap the -SecurityTypes value start-kiosk.sh pins.',
    'args=() swapped=0',
    'while (($# > 0)); do',
    '  if [[ ${1,,} == -securitytypes && $# -ge 2 ]]; then',
    `    args+=("$1" '${securityTypes}'); swapped=1; shift 2`,
    '  else',
    '    args+=("$1"); shift',
    '  fi',
    'done',
    '((swapped)) || { echo "kiosk-fixture Xtigervnc shim: no -SecurityTypes to replace" >&2; exit 1; }',
    `echo "kiosk-fixture Xtigervnc shim: -SecurityTypes replaced with ${securityTypes}" >&2`,
    `exec '${realXvnc}' "\${args[@]}"`,
    '',
  ].join('\n');
}

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

/**
 * GetSelectionOwner over the core X11 protocol (no xclip/xsel in the kiosk's packages):
 * connection setup with the kiosk's cookie, InternAtom, GetSelectionOwner, then close.
 */
function x11SelectionOwner(socketPath: string, cookie: Buffer, selection: string, timeoutMs = 5000): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const socket = netConnect({ path: socketPath });
    let buffered = Buffer.alloc(0);
    let stage: 'setup' | 'atom' | 'owner' = 'setup';
    const timer = setTimeout(() => {
      fail(new Error(`X server did not answer within ${timeoutMs} ms (stage ${stage})`));
    }, timeoutMs);
    function fail(err: Error): void {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    }
    const authName = Buffer.from('MIT-MAGIC-COOKIE-1', 'latin1');
    const setup = Buffer.alloc(12 + authName.length + pad4(authName.length) + cookie.length + pad4(cookie.length));
    setup.write('l', 0, 'latin1'); // little-endian requests and replies
    setup.writeUInt16LE(11, 2);
    setup.writeUInt16LE(0, 4);
    setup.writeUInt16LE(authName.length, 6);
    setup.writeUInt16LE(cookie.length, 8);
    authName.copy(setup, 12);
    cookie.copy(setup, 12 + authName.length + pad4(authName.length));
    socket.on('error', fail);
    socket.on('connect', () => socket.write(setup));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (stage === 'setup') {
        if (buffered.length < 8) return;
        const total = 8 + 4 * buffered.readUInt16LE(6);
        if (buffered.length < total) return;
        if (buffered[0] !== 1) {
          const reason = buffered.subarray(8, 8 + (buffered[1] ?? 0)).toString('latin1');
          fail(new Error(`X connection refused: ${reason || `status ${buffered[0] ?? '?'}`}`));
          return;
        }
        buffered = buffered.subarray(total);
        const name = Buffer.from(selection, 'latin1');
        const intern = Buffer.alloc(8 + name.length + pad4(name.length));
        intern.writeUInt8(16, 0); // InternAtom
        intern.writeUInt8(0, 1); // only-if-exists: no
        intern.writeUInt16LE(intern.length / 4, 2);
        intern.writeUInt16LE(name.length, 4);
        name.copy(intern, 8);
        socket.write(intern);
        stage = 'atom';
      }
      while (buffered.length >= 32) {
        if (buffered[0] === 0) { // an error (always 32 bytes)
          fail(new Error(`X error ${buffered[1] ?? '?'} at stage ${stage}`));
          return;
        }
        if (buffered[0] !== 1) { // an event (32 bytes): skip it
          buffered = buffered.subarray(32);
          continue;
        }
        const length = 32 + 4 * buffered.readUInt32LE(4);
        if (buffered.length < length) return;
        const reply = buffered.subarray(0, length);
        buffered = buffered.subarray(length);
        if (stage === 'atom') {
          const owner = Buffer.alloc(8);
          owner.writeUInt8(23, 0); // GetSelectionOwner
          owner.writeUInt16LE(2, 2);
          owner.writeUInt32LE(reply.readUInt32LE(8), 4);
          socket.write(owner);
          stage = 'owner';
        } else {
          clearTimeout(timer);
          socket.destroy();
          resolvePromise(reply.readUInt32LE(8));
          return;
        }
      }
    });
  });
}

function randomPassword(): string {
  // VncAuth uses 8 characters at most.
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  return [...randomBytes(8)].map(b => alphabet[b % alphabet.length] ?? 'x').join('');
}

/** Starts a kiosk desktop with xev as its only application; see the module header. */
export async function startKioskDesktop(opts: KioskDesktopOptions = {}): Promise<KioskDesktop> {
  if (!xvncAvailable()) throw new Error(kioskToolsMissingMessage());
  const geometry = opts.geometry ?? '1024x768';
  if (!/^\d{2,5}x\d{2,5}$/.test(geometry)) throw new Error(`bad geometry ${geometry} (want WxH)`);
  const password = opts.password ?? randomPassword();
  if (password === '' || /[\n\r]/.test(password)) throw new Error('the VNC password must be non-empty and one line');
  const name = opts.name ?? 'beamgate-test-kiosk';
  const securityTypes = opts.securityTypes;
  if (securityTypes !== undefined && !/^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$/.test(securityTypes)) {
    throw new Error(`bad securityTypes ${securityTypes} (want e.g. TLSVnc or TLSVnc,VncAuth)`);
  }
  const realXvnc = findOnPath('Xtigervnc');
  if (realXvnc === undefined) throw new Error(kioskToolsMissingMessage());

  const scripts = findKioskScripts();
  const dir = await mkdtemp(join(tmpdir(), 'beamgate-kiosk-'));
  const stateDir = join(dir, 'state');
  const appsFile = join(dir, 'apps');
  await writeFile(appsFile, [
    '# The test input sink: xev in a maximised, focused window; its output is state/app-0.log.',
    `xev -event keyboard -event button -geometry ${geometry}+0+0 -name ${SINK_NAME}`,
    '',
  ].join('\n'));
  let env: NodeJS.ProcessEnv = { ...process.env, KIOSK_PASSWORD: password };
  if (securityTypes !== undefined) {
    const bin = join(dir, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'Xtigervnc'), xvncShim(realXvnc, securityTypes), { mode: 0o755 });
    env = { ...env, PATH: `${bin}${delimiter}${process.env['PATH'] ?? ''}` };
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        await run('bash', [join(scripts, 'stop-kiosk.sh'), '--state-dir', stateDir, '--timeout', '10'], { timeoutMs: 30_000 });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    })();
    return stopping;
  };

  try {
    await run('bash', [join(scripts, 'start-kiosk.sh'),
      '--apps', appsFile, '--state-dir', stateDir, '--geometry', geometry, '--name', name,
      '--no-blacklist', ...(opts.allowResize === true ? ['--allow-resize'] : []),
      '--exit-with', String(process.pid), '--timeout', '30'],
    { env, timeoutMs: 45_000 });
    // The state dir's plain one-value files (the env file is bash-quoted; these are not).
    const displayNumber = (await readFile(join(stateDir, 'display'), 'utf8')).trim();
    const portText = (await readFile(join(stateDir, 'rfbport'), 'utf8')).trim();
    const display = `:${displayNumber}`;
    const rfbPort = Number(portText);
    const xauthority = join(stateDir, 'Xauthority');
    if (!/^\d+$/.test(displayNumber) || !Number.isInteger(rfbPort)) {
      throw new Error(`unexpected kiosk state: display ${displayNumber}, rfb port ${portText}`);
    }
    const xEnv: NodeJS.ProcessEnv = { ...process.env, DISPLAY: display, XAUTHORITY: xauthority };
    await focusInputSink(xEnv, geometry);

    return {
      display,
      rfbHost: '127.0.0.1',
      rfbPort,
      password,
      name,
      xauthority,
      stateDir,
      async inputLog() {
        const text = await readFile(join(stateDir, 'app-0.log'), 'utf8').catch(() => '');
        return parseXevLog(text);
      },
      async screenshot() {
        if (!onPath('xwd')) throw new Error('xwd not found: install the Debian package x11-apps (bash .ci/install-deps)');
        return parseXwd(await runBuffer('xwd', ['-root', '-silent', '-display', display], xEnv));
      },
      async screenshotPng(path: string) {
        if (!onPath('xwd')) throw new Error('xwd not found: install the Debian package x11-apps (bash .ci/install-deps)');
        const xwd = await runBuffer('xwd', ['-root', '-silent', '-display', display], xEnv);
        await mkdir(dirname(resolve(path)), { recursive: true });
        await writeFile(path, xwdToPng(xwd));
      },
      async selectionOwner(selection: string) {
        const cookie = mitCookie(await readFile(xauthority));
        return x11SelectionOwner(`/tmp/.X11-unix/X${displayNumber}`, cookie, selection);
      },
      async screenSize() {
        const out = await run('xdpyinfo', ['-display', display], { env: xEnv, timeoutMs: 5000 });
        const m = /dimensions:\s+(\d+)x(\d+) pixels/.exec(out);
        if (!m) throw new Error(`no dimensions in xdpyinfo output:\n${out}`);
        return { width: Number(m[1]), height: Number(m[2]) };
      },
      async killXvnc() {
        // The pids file holds 'role pid starttime'; signal only if the start time still matches.
        const pids = await readFile(join(stateDir, 'pids'), 'utf8');
        const line = pids.split('\n').find(l => l.startsWith('xvnc '));
        const [, pidText, start] = line?.split(' ') ?? [];
        const pid = Number(pidText);
        if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no Xtigervnc pid in ${join(stateDir, 'pids')}`);
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
        if (fields[19] !== start) throw new Error(`process ${pid} is not the kiosk's Xtigervnc any more`);
        process.kill(pid, 'SIGKILL');
      },
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** Waits until the input log satisfies `done`, or fails after timeoutMs with the log so far. */
export async function waitForInput(
  desktop: Pick<KioskDesktop, 'inputLog'>,
  done: (log: InputRecord[]) => boolean,
  timeoutMs = 5000,
): Promise<InputRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = await desktop.inputLog();
    if (done(log)) return log;
    if (Date.now() > deadline) throw new Error(`input not seen within ${timeoutMs} ms; xev saw ${JSON.stringify(log)}`);
    await sleep(50);
  }
}

async function main(argv: string[]): Promise<void> {
  const opts: KioskDesktopOptions = {};
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${argv[i] ?? ''} needs a value`);
    if (argv[i] === '--geometry') opts.geometry = value;
    else if (argv[i] === '--password') opts.password = value;
    else if (argv[i] === '--name') opts.name = value;
    else throw new Error(`unknown option ${argv[i] ?? ''} (--geometry WxH, --password pw, --name n)`);
  }
  const started = Date.now();
  const desktop = await startKioskDesktop(opts);
  console.log(`kiosk desktop ready in ${Date.now() - started} ms`);
  console.log(`  display   ${desktop.display}  (XAUTHORITY=${desktop.xauthority})`);
  console.log(`  rfb       ${desktop.rfbHost}:${desktop.rfbPort}`);
  console.log(`  password  ${desktop.password}`);
  console.log(`  state     ${desktop.stateDir}`);
  console.log('Ctrl-C prints the input log and stops the desktop.');
  // Signal listeners do not keep node alive; a timer does, until a signal arrives.
  const keepAlive = setInterval(() => undefined, 60_000);
  await new Promise<void>((resolveWait) => {
    process.once('SIGINT', resolveWait);
    process.once('SIGTERM', resolveWait);
  });
  clearInterval(keepAlive);
  console.log(JSON.stringify(await desktop.inputLog(), null, 1));
  await desktop.stop();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
