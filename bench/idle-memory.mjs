#!/usr/bin/env node
// idle-memory.mjs — gateway memory per idle viewer.
//
// Connects viewers through a WebSocket proxy in steps (default 0, 50, 200 viewers in total).
// Each viewer completes the RFB handshake (and sends SetPixelFormat + SetEncodings, as noVNC
// does) and then stays idle. With --mode frame each new viewer first fetches one full-screen
// Raw update and then stays idle, which shows what a viewer keeps after traffic.
// After every step it waits --settle-ms, reads VmRSS of the proxy process from
// /proc/PID/status (median of --samples reads spread over the last half of the settle time)
// and, if --readyz is given, checks the gateway's own viewer count.
// Each idle viewer also holds one upstream TCP connection from the proxy to the VNC server.
// With --inspect HOST:PORT (the proxy runs with --inspect=HOST:PORT, e.g. through NODE_OPTIONS)
// a full garbage collection is forced through the inspector before every reading, so garbage
// left by earlier steps does not blur the difference, and the V8 heap in use is reported too
// (heap_used_kib; per_viewer_heap_kib).
//
// Output: one JSON line on stdout:
//   { scenario: 'idle-memory', label, mode, steps: [{ viewers, rss_kib, ... }],
//     per_viewer_kib: (RSS_max - RSS_0) / max, per_viewer_kib_by_step: [...] }
// Exit status: 0 ok, 1 usage error, 2 connection/protocol failure ({"error": ...} printed too).
//
// usage: node idle-memory.mjs --target ws://127.0.0.1:7971/desktop/default --pid 1234
//        [--counts 0,50,200] [--mode idle|frame] [--settle-ms 3000] [--samples 5]
//        [--warmup-viewers 4] [--readyz http://127.0.0.1:7971/readyz] [--label gateway]
//        [--connect-concurrency 4] [--timeout-ms 10000] [--inspect 127.0.0.1:9229]

import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { RfbClient, ENCODINGS } from './lib/rfb-client.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function parseArgs(argv) {
  const o = {
    target: null, pid: null, counts: [0, 50, 200], mode: 'idle', settleMs: 3000, samples: 5,
    warmupViewers: 4, readyz: null, label: 'gateway', connectConcurrency: 4, timeoutMs: 10000, inspect: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      process.stdout.write(fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
      process.exit(0);
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    switch (a) {
      case '--target': o.target = v; break;
      case '--pid': o.pid = Number(v); break;
      case '--counts': o.counts = v.split(',').map((s) => Number(s.trim())); break;
      case '--mode': if (!['idle', 'frame'].includes(v)) throw new Error('--mode is idle or frame'); o.mode = v; break;
      case '--settle-ms': o.settleMs = Number(v); break;
      case '--samples': o.samples = Math.max(1, Number(v)); break;
      case '--warmup-viewers': o.warmupViewers = Number(v); break;
      case '--readyz': o.readyz = v; break;
      case '--label': o.label = v; break;
      case '--connect-concurrency': o.connectConcurrency = Math.max(1, Number(v)); break;
      case '--timeout-ms': o.timeoutMs = Number(v); break;
      case '--inspect': o.inspect = v; break;
      default: throw new Error(`unknown option ${a}`);
    }
  }
  if (!o.target || !Number.isInteger(o.pid)) throw new Error('--target and --pid are required');
  if (o.counts.some((n) => !Number.isInteger(n) || n < 0)) throw new Error('--counts must be non-negative integers');
  o.counts = [...new Set(o.counts)].sort((a, b) => a - b);
  if (o.counts[0] !== 0) o.counts.unshift(0);
  return o;
}

/** VmRSS, RssAnon, VmHWM in KiB from /proc/PID/status. */
function procMem(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  const f = (k) => { const m = new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s); return m ? Number(m[1]) : null; };
  return { rss: f('VmRSS'), anon: f('RssAnon'), hwm: f('VmHWM') };
}
const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

/** Minimal Chrome DevTools protocol client for the proxy's inspector (forced GC, heap usage). */
async function openInspector(hostPort, timeoutMs) {
  const list = await (await fetch(`http://${hostPort}/json/list`)).json();
  const url = list[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target at ${hostPort}`);
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  let id = 0;
  const waiting = new Map();
  ws.on('message', (data) => {
    const m = JSON.parse(String(data));
    const w = waiting.get(m.id);
    if (w) { waiting.delete(m.id); if (m.error) w.reject(new Error(`inspector: ${m.error.message}`)); else w.resolve(m.result); }
  });
  const call = (method, params = {}) => new Promise((resolve, reject) => {
    const n = ++id;
    const t = setTimeout(() => { waiting.delete(n); reject(new Error(`inspector ${method} timed out`)); }, timeoutMs);
    waiting.set(n, { resolve: (r) => { clearTimeout(t); resolve(r); }, reject: (e) => { clearTimeout(t); reject(e); } });
    ws.send(JSON.stringify({ id: n, method, params }));
  });
  return { call, close: () => ws.close() };
}

async function settleAndRead(o, inspector) {
  // first half: let the proxy finish whatever the connects started; second half: sample
  await sleep(o.settleMs / 2);
  let heapUsed = null;
  if (inspector) {
    await inspector.call('HeapProfiler.collectGarbage');
    await inspector.call('HeapProfiler.collectGarbage');
    heapUsed = Math.round((await inspector.call('Runtime.getHeapUsage')).usedSize / 1024);
    await sleep(200);
  }
  const rss = [], anon = [];
  let hwm = null;
  for (let i = 0; i < o.samples; i++) {
    const m = procMem(o.pid);
    rss.push(m.rss); anon.push(m.anon); hwm = m.hwm;
    if (i < o.samples - 1) await sleep(o.settleMs / 2 / o.samples);
  }
  return { rss_kib: median(rss), rss_anon_kib: median(anon), rss_min_kib: Math.min(...rss), rss_max_kib: Math.max(...rss), hwm_kib: hwm, heap_used_kib: heapUsed };
}

async function readyzViewers(url) {
  try {
    const r = await fetch(url);
    const j = await r.json();
    return typeof j.viewers === 'number' ? j.viewers : null;
  } catch { return null; }
}

async function main() {
  let o;
  try { o = parseArgs(process.argv.slice(2)); } catch (e) {
    process.stderr.write(`idle-memory: ${e.message}\n`); process.exit(1);
  }
  const clients = [];
  const fail = (e) => {
    process.stdout.write(`${JSON.stringify({ scenario: 'idle-memory', label: o.label, mode: o.mode, error: String(e?.message ?? e) })}\n`);
    process.stderr.write(`idle-memory: ${e?.message ?? e}\n`);
    for (const c of clients) c.close();
    process.exit(2);
  };
  const make = () => {
    const c = new RfbClient({ target: o.target, encodings: [ENCODINGS.raw], shared: true, timeoutMs: o.timeoutMs });
    c.onFatal = fail;
    return c;
  };
  const open = async (n, into) => {
    const cs = Array.from({ length: n }, make);
    let next = 0;
    const worker = async () => {
      while (next < cs.length) {
        const c = cs[next++];
        into.push(c);
        await c.connect();
        if (o.mode === 'frame') await c.roundTrip(0, 0, c.width, c.height);
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.connectConcurrency, n) }, worker));
  };

  let inspector = null;
  try {
    if (o.inspect) inspector = await openInspector(o.inspect, o.timeoutMs);
    // Warm-up: the first viewers load and compile the relay code and allocate lazily created
    // state; they are closed again so RSS_0 includes that one-off cost and not a viewer.
    if (o.warmupViewers > 0) {
      const warm = [];
      await open(o.warmupViewers, warm);
      for (const c of warm) c.close();
      await sleep(500);
    }
    const steps = [];
    const t0 = Date.now();
    for (const n of o.counts) {
      const add = n - clients.length;
      if (add > 0) await open(add, clients);
      const mem = await settleAndRead(o, inspector);
      const viewers = o.readyz ? await readyzViewers(o.readyz) : null;
      if (viewers !== null && viewers !== n) throw new Error(`gateway reports ${viewers} viewers, expected ${n}`);
      if (clients.some((c) => c.dead)) throw new Error('a viewer connection died while idle');
      steps.push({ viewers: n, gateway_viewers: viewers, ...mem });
      process.stderr.write(`idle-memory ${o.label} ${o.mode}: ${n} viewers, VmRSS ${mem.rss_kib} KiB\n`);
    }
    const s0 = steps[0];
    const last = steps[steps.length - 1];
    const perN = (a, b, n) => (a == null || b == null || !n ? null : Math.round(((a - b) / n) * 10) / 10);
    const perStep = steps.slice(1).map((s) => ({ viewers: s.viewers, kib: perN(s.rss_kib, s0.rss_kib, s.viewers), heap_kib: perN(s.heap_used_kib, s0.heap_used_kib, s.viewers) }));
    const out = {
      scenario: 'idle-memory', label: o.label, mode: o.mode, target: o.target, settle_ms: o.settleMs,
      warmup_viewers: o.warmupViewers, steps,
      per_viewer_kib: last.viewers ? Math.round(((last.rss_kib - s0.rss_kib) / last.viewers) * 10) / 10 : null,
      per_viewer_anon_kib: perN(last.rss_anon_kib, s0.rss_anon_kib, last.viewers),
      per_viewer_heap_kib: perN(last.heap_used_kib, s0.heap_used_kib, last.viewers),
      forced_gc: Boolean(inspector),
      per_viewer_kib_by_step: perStep,
      elapsed_s: Math.round((Date.now() - t0) / 100) / 10,
      ts: new Date().toISOString(),
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } catch (e) {
    fail(e);
  }
  for (const c of clients) c.close();
  inspector?.close();
  process.exit(0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
