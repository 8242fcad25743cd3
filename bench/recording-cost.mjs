// What recording costs: gateway CPU with 10 viewers watching a typical control GUI (bench/gui/
// control-panel.tcl on a private Xvnc), recording off vs on, measured in interleaved rounds in
// the same run; plus the recording's storage per hour. The gateway runs as a child process and its
// CPU is read from /proc/<pid>/stat (user + system), so the viewers' own work is not counted.
// Loopback only; every process it starts is stopped at the end.
// Usage: node bench/recording-cost.mjs [buildDir=dist]   (npm run bench:recording; needs TigerVNC and tk)
// Env: ROUNDS [3]  DURATION [30] seconds per measurement  VIEWERS [10]  WARMUP [3] seconds  KEEP [0] (1: keep the recordings)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RfbClient } from './lib/rfb-client.mjs';

const build = resolve(process.argv[2] ?? 'dist');
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const DURATION = Number(process.env.DURATION ?? 30);
const VIEWERS = Number(process.env.VIEWERS ?? 10);
const WARMUP = Number(process.env.WARMUP ?? 3);
// What noVNC 1.7 offers after the gateway's rewrite, in its order (Tight first).
const NOVNC_ENCODINGS = [1, 7, 16, 5, 2, 0, -223, -224, -308];
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

const fixture = await import(pathToFileURL(join(build, 'gateway/src/testing/kiosk-fixture.js')).href);
const reader = await import(pathToFileURL(join(build, 'session-recorder/src/recording/recording-reader.js')).href);
const childScript = join(build, 'gateway/src/testing/gateway-child.js');

const sleep = ms => new Promise(r => setTimeout(r, ms));
const median = xs => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime
}

function filesUnder(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

async function startGateway(work, kiosk, recording) {
  const dataDir = mkdtempSync(join(work, recording ? 'on-' : 'off-'));
  writeFileSync(join(dataDir, 'pw'), `${kiosk.password}\n`);
  const config = {
    listen: { host: '127.0.0.1', port: 0 }, insecureNoLogin: true, dataDir,
    recordings: { enabled: recording, keyFrameIntervalSeconds: 30, maxUpdatesPerSecond: 10, sessionCloseGraceSeconds: 0 },
    targets: [{ id: 'p11', name: 'P11', beamline: 'p11', host: kiosk.rfbHost, port: kiosk.rfbPort, security: ['vnc'], passwordFile: join(dataDir, 'pw') }],
  };
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify(config));
  const child = spawn(process.execPath, [childScript, join(dataDir, 'config.json')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', d => { out += d; });
  const deadline = Date.now() + 20_000;
  while (!/listening (\S+)/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`gateway did not start: ${out}`);
    await sleep(50);
  }
  return { child, url: /listening (\S+)/.exec(out)[1], dataDir };
}

async function measure(work, kiosk, recording) {
  const gw = await startGateway(work, kiosk, recording);
  const origin = gw.url.replace(/\/$/, '');
  const clients = [];
  let running = true;
  const loops = [];
  try {
    for (let i = 0; i < VIEWERS; i++) {
      const c = new RfbClient({ target: `${gw.url.replace('http', 'ws')}desktop/p11`, encodings: NOVNC_ENCODINGS, headers: { origin }, timeoutMs: 10_000 });
      await c.connect();
      clients.push(c);
      const { width, height } = c;
      // noVNC's loop: one incremental request after each update.
      loops.push((async () => {
        await c.roundTrip(0, 0, width, height, false);
        while (running) await c.roundTrip(0, 0, width, height, true);
      })().catch(e => { if (running) throw e; }));
    }
    await sleep(WARMUP * 1000);
    const cpu0 = cpuSeconds(gw.child.pid);
    const bytes0 = clients.reduce((n, c) => n + c.bytesIn, 0);
    const t0 = performance.now();
    await sleep(DURATION * 1000);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(gw.child.pid) - cpu0;
    const viewerMB = (clients.reduce((n, c) => n + c.bytesIn, 0) - bytes0) / 1e6;
    return { cpuPercent: (100 * cpu) / seconds, viewerMBps: viewerMB / seconds, seconds, dataDir: gw.dataDir };
  } finally {
    running = false;
    for (const c of clients) c.close();
    await Promise.allSettled(loops);
    gw.child.kill('SIGTERM');
    await new Promise(r => gw.child.once('exit', r));
  }
}

function onPath(binary) {
  return (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      return statSync(join(dir, binary)).isFile();
    } catch {
      return false;
    }
  });
}

async function main() {
  if (!onPath('wish')) throw new Error('bench/recording-cost.mjs needs wish (Tcl/Tk) for its stand-in control GUI: apt-get install -y tk');
  const work = mkdtempSync(join(tmpdir(), 'beamgate-bench-rec-'));
  const kiosk = await fixture.startKioskDesktop({ geometry: '1280x800', name: 'bench-gui' });
  const gui = spawn('wish', [resolve('bench/gui/control-panel.tcl')], {
    env: { ...process.env, DISPLAY: kiosk.display, XAUTHORITY: kiosk.xauthority }, stdio: 'ignore',
  });
  try {
    await sleep(1500);
    const rows = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [false, true] : [true, false];
      const result = {};
      for (const recording of order) result[recording ? 'on' : 'off'] = await measure(work, kiosk, recording);
      const files = filesUnder(join(result.on.dataDir, 'recordings'));
      let bytes = 0;
      let durationMs = 0;
      for (const f of files) {
        const info = await reader.indexRecording(f);
        bytes += info.fileBytes;
        durationMs += info.durationMs;
      }
      rows.push({
        round: round + 1, cpuOff: result.off.cpuPercent, cpuOn: result.on.cpuPercent, ratio: result.on.cpuPercent / result.off.cpuPercent,
        viewerMBps: result.on.viewerMBps, recordingMBperHour: durationMs > 0 ? (bytes / 1e6) * (3_600_000 / durationMs) : NaN,
      });
      console.log(JSON.stringify(rows.at(-1)));
    }
    const summary = {
      viewers: VIEWERS, durationS: DURATION, rounds: ROUNDS,
      cpuOffPercentMedian: median(rows.map(r => r.cpuOff)), cpuOnPercentMedian: median(rows.map(r => r.cpuOn)),
      ratioMedian: median(rows.map(r => r.ratio)), recordingMBperHourMedian: median(rows.map(r => r.recordingMBperHour)),
    };
    console.log(JSON.stringify(summary));
    console.log(summary.ratioMedian <= 1.10 ? 'target met: recording costs at most 10% extra gateway CPU' : 'target NOT met: recording costs more than 10% extra gateway CPU');
  } finally {
    gui.kill();
    await kiosk.stop();
    if (process.env.KEEP === '1') console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

await main();
