// Micro benchmark of the server-to-client scanner (gateway/src/rfb/s2c-scanner.ts) and of the
// clipboard filter built on it: MB/s over realistic streams (ZRLE, Tight with JPEG/palette/fill,
// Hextile with raw/solid/subrect tiles, Raw), fed in 256 KiB chunks like the gateway's pooled reads.
// The streams come from the test encoder (gateway/src/testing/s2c-stream.ts): real message layouts,
// filler instead of pixels (the scanner never looks at them). Pure CPU; no sockets.
// Run after a build:  node bench/s2c-scanner.mjs [outDir=dist]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const outDir = process.argv[2] ?? 'dist';
const load = path => import(pathToFileURL(resolve(outDir, path)).href);
const { S2CScanner } = await load('gateway/src/rfb/s2c-scanner.js');
const { ServerCutTextFilter } = await load('gateway/src/rfb/s2c-cut-text-filter.js');
const { RGB888_LE } = await load('gateway/src/rfb/pixel-format.js');
const { beamlineInputPolicySchema } = await load('policies/src/input-policy.js');
const { compilePolicy } = await load('policies/src/input-rules.js');
const S = await load('gateway/src/testing/s2c-stream.js');

const E = { Raw: 0, Hextile: 5, Tight: 7, ZRLE: 16, LastRect: -224 };
const px = S.RGB888;
let seed = 7;
const rand = (n) => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return (seed >>> 8) % n;
};
const TARGET = 48 * 1024 * 1024;

/** Updates of up to `perUpdate` rectangles from `makeRect` until about TARGET bytes; a Bell now and then. */
function stream(makeRect, perUpdate) {
  const parts = [];
  let total = 0;
  units = 0;
  while (total < TARGET) {
    const rects = Array.from({ length: 1 + rand(perUpdate) }, makeRect);
    units += rects.length;
    const update = S.framebufferUpdate([...rects, S.rect(0, 0, 0, 0, E.LastRect, new Uint8Array(0))], 0xffff);
    parts.push(update);
    total += update.length;
    if (rand(20) === 0) parts.push(S.bell());
  }
  return { bytes: S.concatBytes(parts), units };
}
/** Rectangles (Hextile: tiles) in the stream being built: the scanner's work is per header, not per byte. */
let units = 0;

const streams = {
  // TigerVNC's ZRLE: rectangles of a few KB to a few hundred KB of zlib data.
  ZRLE: stream(() => S.rect(0, 0, 256, 256, E.ZRLE, S.lengthPrefixedBody(2000 + rand(120_000))), 12),
  // Tight as TigerVNC sends it to noVNC: solid fills, JPEG for photos, palettes for text and UI.
  Tight: stream(() => {
    const w = 16 + rand(240);
    const h = 16 + rand(240);
    const kind = rand(10);
    const form = kind < 2 ? { kind: 'fill' }
      : kind < 6 ? { kind: 'jpeg', length: 1000 + rand(30_000) }
      : kind < 9 ? { kind: 'basic', filter: 1, colours: 2 + rand(15), compressedLength: 200 + rand(4000), stream: 2 }
      : { kind: 'basic', filter: 0, compressedLength: 1000 + rand(40_000), stream: 0 };
    return S.rect(0, 0, w, h, E.Tight, S.tightBody(w, h, px, form));
  }, 30),
  // Hextile, the scanner's worst case (it walks every 16x16 tile): a mix of raw, solid and subrect tiles.
  Hextile: stream(() => {
    const tiles = Array.from({ length: 64 }, () => {
      const k = rand(10);
      return k < 5 ? { subencoding: 1, subrects: 0 } : k < 8 ? { subencoding: 2, subrects: 0 } : { subencoding: 2 | 8 | 16, subrects: 1 + rand(20) };
    });
    units += (512 / 16) * (256 / 16) - 1; // count tiles, not rectangles
    return S.rect(0, 0, 512, 256, E.Hextile, S.hextileBody(512, 256, px, tiles));
  }, 4),
  // Hextile of a flat desktop: one byte per tile after the first, the most headers per byte there is.
  'Hextile-flat': stream(() => {
    units += 120 * Math.ceil(1080 / 16) - 1; // tiles (the last row is partial)
    return S.rect(0, 0, 1920, 1080, E.Hextile, S.hextileBody(1920, 1080, px, [{ subencoding: 2, subrects: 0 }, { subencoding: 0, subrects: 0 }]));
  }, 1),
  // Raw: long payloads, nothing to walk.
  Raw: stream(() => S.rect(0, 0, 640, 480, E.Raw, new Uint8Array(640 * 480 * 4)), 2),
};

const CHUNK = 256 * 1024;
const deny = compilePolicy(beamlineInputPolicySchema.parse({ version: 1, beamline: 'bench' }));
const policy = () => deny;

function mbPerSecond(bytes, run) {
  let best = Infinity;
  for (let trial = 0; trial < 5; trial++) {
    const start = process.hrtime.bigint();
    run();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return bytes / (1024 * 1024) / best;
}

console.log(`node ${process.version}; ${TARGET / 1024 / 1024} MiB per stream, ${CHUNK / 1024} KiB chunks, best of 5`);
console.log('stream         MiB  messages  rects or tiles   scanner MB/s   ns per rect/tile   clipboard filter MB/s');
for (const [name, { bytes, units: count }] of Object.entries(streams)) {
  let messages = 0;
  const scanAll = () => {
    const scanner = new S2CScanner(RGB888_LE);
    messages = 0;
    for (let o = 0; o < bytes.length; o += CHUNK) messages += scanner.scan(bytes.subarray(o, o + CHUNK)).length;
  };
  const filterAll = () => {
    const filter = new ServerCutTextFilter(RGB888_LE);
    for (let o = 0; o < bytes.length; o += CHUNK) filter.feed(bytes.subarray(o, o + CHUNK), policy);
  };
  scanAll(); // warm-up
  filterAll();
  const scan = mbPerSecond(bytes.length, scanAll);
  const filter = mbPerSecond(bytes.length, filterAll);
  const ns = (bytes.length / (1024 * 1024) / scan) * 1e9 / count;
  console.log(`${name.padEnd(12)} ${(bytes.length / 1048576).toFixed(0).padStart(5)} ${String(messages).padStart(9)} ${String(count).padStart(15)}`
    + ` ${scan.toFixed(0).padStart(14)} ${ns.toFixed(1).padStart(18)} ${filter.toFixed(0).padStart(23)}`);
}
