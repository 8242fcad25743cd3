#!/usr/bin/env node
// summarize.mjs results.jsonl [--md out.md] [--json out.json] [--base direct]
//               [--candidates 'gateway other'] [--memory memory.jsonl]
// Medians over rounds for every (scenario, clients, label), and ratios label/base
// computed per round (both values measured back to back) and then take the median.
// With --candidates, ratios candidate/websockify and candidate/direct are shown and the
// issue's targets are checked for every candidate; --memory adds memory per idle viewer
// (bench/idle-memory.mjs output).

import fs from 'node:fs';

const args = process.argv.slice(2);
const VALUED = ['--md', '--json', '--base', '--candidates', '--memory'];
const file = args.find((a, i) => !a.startsWith('--') && !VALUED.includes(args[i - 1]));
const opt = (k) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : null; };
if (!file) { process.stderr.write('usage: node summarize.mjs results.jsonl [--md out.md] [--json out.json] [--base direct]\n'); process.exit(1); }
const BASE = opt('--base') ?? 'direct';

const rows = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const errors = rows.filter((r) => r.error);
const ok = rows.filter((r) => !r.error);

const CANDIDATES = (opt('--candidates') ?? '').split(/\s+/).filter(Boolean);
const rank = (l) => (l === BASE ? -2 : l === 'websockify' ? -1 : CANDIDATES.includes(l) ? CANDIDATES.indexOf(l) : 1000);
const labels = [...new Set([...ok.map((r) => r.label), ...CANDIDATES])].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
// throughput groups: unpaced K=…, then paced K=…@fps
const tkey = (r) => (r.fps_per_client ? `K=${r.clients}@${r.fps_per_client}fps` : `K=${r.clients}`);
const tgroups = [...new Map(ok.filter((r) => r.scenario === 'throughput')
  .sort((a, b) => (a.fps_per_client ?? 0) - (b.fps_per_client ?? 0) || a.clients - b.clients)
  .map((r) => [tkey(r), r])).keys()];

const g = (o, path) => path.split('.').reduce((v, k) => (v == null ? undefined : v[k]), o);
const M = [];
const add = (sel, name, path, unit, better) => M.push({ sel, name, path, unit, better });
const lat = (r) => r.scenario === 'latency';
add(lat, 'latency small-rect p50', 'ms.p50', 'ms', 'low');
add(lat, 'latency small-rect p90', 'ms.p90', 'ms', 'low');
add(lat, 'latency small-rect p99', 'ms.p99', 'ms', 'low');
add(lat, 'latency small-rect max', 'ms.max', 'ms', 'low');
for (const k of tgroups) {
  const t = (r) => r.scenario === 'throughput' && tkey(r) === k;
  add(t, `${k} aggregate throughput`, 'mb_per_s', 'MB/s', 'high');
  add(t, `${k} aggregate frames`, 'frames_per_s', 'fps', 'high');
  add(t, `${k} full-frame RTT p50`, 'frame_ms.p50', 'ms', 'low');
  add(t, `${k} per-client p99 (median client)`, 'per_client.p99_ms.median', 'ms', 'low');
  add(t, `${k} per-client p99 (worst client)`, 'per_client.p99_ms.max', 'ms', 'low');
  if (k !== 'K=1') add(t, `${k} per-client MB/s min/max`, (r) => r.per_client.mb_per_s.min / r.per_client.mb_per_s.max, 'ratio', 'high');
  // Probe latency is only comparable across transports at equal offered load (paced runs).
  // Under saturation it mostly measures the queue at whichever process is the bottleneck
  // (Xvnc for direct TCP), so it stays in the JSON but not in the table.
  if (k.includes('@')) {
    add(t, `${k} probe small-rect p50 under load`, 'probe.ms.p50', 'ms', 'low');
    add(t, `${k} probe small-rect p99 under load`, 'probe.ms.p99', 'ms', 'low');
  }
  add(t, `${k} Xvnc CPU`, 'cpu.xvnc.pct_of_core', '%core', 'info');
  add(t, `${k} proxy CPU`, 'cpu.proxy.pct_of_core', '%core', 'info');
  add(t, `${k} proxy CPU per MB`, 'cpu.proxy.ms_per_mb', 'ms/MB', 'low');
  add(t, `${k} harness CPU`, 'cpu.client.pct_of_core', '%core', 'info');
}
const inp = (r) => r.scenario === 'input';
add(inp, 'input events written (of target)', (r) => r.rate.events_written / r.rate.events_target, 'ratio', 'high');
add(inp, 'input achieved rate', 'rate.achieved_per_s', 'ev/s', 'high');
add(inp, 'input sync request after stream', 'rate.sync_after_ms', 'ms', 'low');
add(inp, 'input drain (1000 ev + req) p50', 'drain.ms.p50', 'ms', 'low');
add(inp, 'input drain (1000 ev + req) p99', 'drain.ms.p99', 'ms', 'low');
add(inp, 'input drain minus idle p50', 'drain.extra_p50_ms', 'ms', 'low');
add(inp, 'input idle small-rect p50 (same conn)', 'drain.idle_ms.p50', 'ms', 'low');
add(inp, 'input burst write time p50 (client side)', 'drain.burst_write_ms.p50', 'ms', 'info');

const median = (a) => { const s = a.filter((v) => Number.isFinite(v)).sort((x, y) => x - y); if (!s.length) return null; const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const val = (m, r) => (typeof m.path === 'function' ? m.path(r) : g(r, m.path));

const table = [];
for (const m of M) {
  const sel = ok.filter(m.sel);
  if (!sel.length) continue;
  const row = { metric: m.name, unit: m.unit, better: m.better, values: {}, ratios: {} };
  const byLabel = {};
  for (const l of labels) {
    const rs = sel.filter((r) => r.label === l);
    const vs = rs.map((r) => val(m, r)).filter((v) => Number.isFinite(v));
    byLabel[l] = new Map(rs.map((r) => [r.round, val(m, r)]));
    row.values[l] = vs.length ? { median: median(vs), min: Math.min(...vs), max: Math.max(...vs), n: vs.length } : null;
  }
  if (Object.values(row.values).every((v) => v == null)) continue;
  const paired = (num, den) => {
    const rs = [];
    for (const [round, v] of byLabel[num] ?? []) {
      const d = byLabel[den]?.get(round);
      if (Number.isFinite(v) && Number.isFinite(d) && d !== 0) rs.push(v / d);
    }
    return median(rs);
  };
  for (const l of labels) if (l !== BASE && byLabel[BASE]) row.ratios[`${l}/${BASE}`] = paired(l, BASE);
  for (const l of labels) if (l !== BASE && l !== 'websockify' && byLabel.websockify) row.ratios[`${l}/websockify`] = paired(l, 'websockify');
  table.push(row);
}

const fmt = (v) => {
  if (v == null || !Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  if (a >= 10) return v.toFixed(2);
  if (a >= 1) return v.toFixed(2);
  return v.toFixed(3);
};
const ratioKeys = [...new Set(table.flatMap((r) => Object.keys(r.ratios)))];
const head = ['metric', 'unit', ...labels.map((l) => `${l} (min-max)`), ...ratioKeys];
const lines = table.map((r) => [
  r.metric + (r.better === 'low' ? ' ↓' : r.better === 'high' ? ' ↑' : ''), r.unit,
  ...labels.map((l) => { const v = r.values[l]; return v ? `${fmt(v.median)} (${fmt(v.min)}-${fmt(v.max)})` : '-'; }),
  ...ratioKeys.map((k) => fmt(r.ratios[k])),
]);
const widths = head.map((h, i) => Math.max([...h].length, ...lines.map((l) => [...l[i]].length)));
const pad = (s, w, right) => (right ? s.padStart(w) : s.padEnd(w));
const out = [];
const rounds = [...new Set(ok.map((r) => r.round))].filter((x) => x != null);
const meta = ok[0] ?? {};
out.push(`rounds: ${rounds.length}  fb: ${meta.fb}  encodings: ${(meta.encodings ?? []).join(',')}  values: median over rounds (min-max); ratios: median of per-round ratios; ↓ lower is better, ↑ higher is better`);
out.push(head.map((h, i) => pad(h, widths[i], i > 1)).join('  '));
for (const l of lines) out.push(l.map((c, i) => pad(c, widths[i], i > 1)).join('  '));
if (errors.length) out.push(`\n${errors.length} failed run(s): ${errors.map((e) => `${e.scenario}: ${e.error}`).join(' | ')}`);
const strays = ok.reduce((a, r) => a + (r.stray_updates || 0), 0);
const rawErr = ok.reduce((a, r) => a + (r.raw_framing_errors || 0), 0);
const rereq = ok.reduce((a, r) => a + (r.rerequests || 0), 0);
out.push(`sanity: ${ok.length} runs, stray updates ${strays}, re-sent requests ${rereq}, raw framing errors ${rawErr}`);
process.stdout.write(`${out.join('\n')}\n`);
const outPrinted = out.length;

// ------------------------------------------------------------------ memory per idle viewer
const memPath = opt('--memory');
const memRows = memPath && fs.existsSync(memPath)
  ? fs.readFileSync(memPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
const KIB = 1024;
const mdExtra = [];
if (memRows.length) {
  out.push('', 'gateway memory per idle viewer (VmRSS of a fresh gateway process; each viewer also holds one upstream TCP connection to Xvnc)');
  mdExtra.push('', '| gateway | mode | viewers | VmRSS (MiB) | per viewer (KiB) = (RSS_N - RSS_0) / N |', '|---|---|---|---|---:|');
  for (const m of memRows) {
    const desc = m.mode === 'frame' ? 'after one full frame, then idle' : 'handshake only, idle';
    if (m.error) {
      out.push(`  ${m.label} [${desc}]: FAILED: ${m.error}`);
      mdExtra.push(`| ${m.label} | ${desc} | - | - | failed: ${m.error} |`);
      continue;
    }
    const steps = m.steps.map((s) => `${s.viewers}: ${(s.rss_kib / KIB).toFixed(1)}`).join(', ');
    const bySteps = m.per_viewer_kib_by_step.map((s) => `N=${s.viewers}: ${s.kib}`).join(', ');
    const heap = m.per_viewer_heap_kib == null ? '' : `; V8 heap in use ${m.per_viewer_heap_kib} KiB per viewer`;
    out.push(`  ${m.label} [${desc}]: VmRSS MiB by viewers {${steps}} -> ${m.per_viewer_kib} KiB per viewer (${bySteps}; anonymous RSS ${m.per_viewer_anon_kib} KiB${heap}${m.forced_gc ? '; full GC forced before each reading' : ''})`);
    mdExtra.push(`| ${m.label} | ${desc} | ${m.steps.map((s) => s.viewers).join(' / ')} | ${m.steps.map((s) => (s.rss_kib / KIB).toFixed(1)).join(' / ')} | ${m.per_viewer_kib} (${bySteps}${heap}) |`);
  }
}

// ------------------------------------------------------------------ the issue's targets
// p50 small round trip below websockify's; throughput >= 1.2x websockify at K=1, 10, 50;
// proxy CPU per MB <= 0.5x websockify's (checked at K=1, 10, 50); < 2 MiB per idle viewer.
const targets = [];
const rowOf = (name) => table.find((r) => r.metric === name);
for (const c of CANDIDATES) {
  const check = (what, metric, limit, cmp, goal) => {
    const row = rowOf(metric);
    if (!row) { targets.push({ candidate: c, what, goal, measured: 'not measured in this run', ratio: null, met: false }); return; }
    const ratio = row.ratios[`${c}/websockify`];
    const met = Number.isFinite(ratio) ? (cmp === '<' ? ratio < limit : cmp === '<=' ? ratio <= limit : ratio >= limit) : false;
    targets.push({ candidate: c, what, goal, measured: Number.isFinite(ratio) ? `${fmt(ratio)}x websockify` : 'no data (runs failed)', ratio: ratio ?? null, met });
  };
  check('small round trip p50', 'latency small-rect p50', 1, '<', 'below websockify (ratio < 1)');
  for (const k of [1, 10, 50]) check(`throughput K=${k}`, `K=${k} aggregate throughput`, 1.2, '>=', '>= 1.2x websockify');
  for (const k of [1, 10, 50]) check(`proxy CPU per MB K=${k}`, `K=${k} proxy CPU per MB`, 0.5, '<=', '<= 0.5x websockify');
  const idle = memRows.filter((m) => m.label === c && !m.error && m.mode === 'idle');
  for (const m of idle) {
    targets.push({ candidate: c, what: 'memory per idle viewer', goal: '< 2048 KiB', measured: `${m.per_viewer_kib} KiB`, ratio: null, met: m.per_viewer_kib < 2048 });
  }
  if (!idle.length) {
    const failed = memRows.some((m) => m.label === c && m.mode === 'idle');
    targets.push({ candidate: c, what: 'memory per idle viewer', goal: '< 2048 KiB', measured: failed ? 'no data (test failed)' : 'not measured in this run', ratio: null, met: false });
  }
}
if (targets.length) {
  out.push('', 'targets (ratios are medians of per-round paired ratios against websockify):');
  mdExtra.push('', '| candidate | target | goal | measured | met |', '|---|---|---|---|---|');
  for (const t of targets) {
    out.push(`  ${t.met ? 'MET    ' : 'NOT MET'}  ${t.candidate}: ${t.what}: ${t.measured} (goal ${t.goal})`);
    mdExtra.push(`| ${t.candidate} | ${t.what} | ${t.goal} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`);
  }
  const missed = targets.filter((t) => !t.met).length;
  out.push(`  ${targets.length - missed} of ${targets.length} targets met`);
}
process.stdout.write(`${out.slice(outPrinted).join('\n')}\n`);

const mdPath = opt('--md');
if (mdPath) {
  const md = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i > 1 ? '---:' : '---')).join('|')}|`, ...lines.map((l) => `| ${l.join(' | ')} |`), ...mdExtra];
  fs.writeFileSync(mdPath, `${md.join('\n')}\n`);
}
const jsonPath = opt('--json');
if (jsonPath) fs.writeFileSync(jsonPath, `${JSON.stringify({ labels, base: BASE, rounds: rounds.length, table, errors, memory: memRows, targets }, null, 1)}\n`);
if (errors.length || memRows.some((m) => m.error)) process.exitCode = 1;
