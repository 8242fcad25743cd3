#!/usr/bin/env bash
# run-bench.sh — the gateway, Debian's websockify and a direct TCP connection, measured in
# the same run against the same private Xvnc, in interleaved rounds; then gateway memory
# per idle viewer; then one summary table with gateway/websockify and gateway/direct ratios
# and a check of the issue's targets. `npm run bench` builds first and then runs this.
#
# Everything listens on 127.0.0.1 only. Every program this script starts runs in its own
# process group (setsid) and is stopped by that group id on exit, on error and on Ctrl-C.
# Safe to re-run: it picks the first free display >= 71 (RFB port 59NN, websockify 69NN,
# gateways from 79NN up).
#
# Tunables (environment), defaults in brackets:
#   ROUNDS [3]  DURATION [3]  WARMUP_S [1]  CLIENTS ["1 10 50"] ("" none)  PACED ["10:3"]  ITERATIONS [1000]
#   RATE [1000]  INPUT_DURATION [2]  BURSTS [20]  BURST_SIZE [1000]  INPUT [1] (0 skips it)  GEOMETRY [1920x1080]
#   ENCODINGS [raw]  DISPLAY_NUM [71]  TIMEOUT_MS [5000] (harness handshake/request timeout)
#   MEMORY_COUNTS ["0,50,200"]  MEMORY_MODES ["idle frame"] ("" skips the memory test)
#   MEMORY_SETTLE_MS [3000]  MEMORY_FORCE_GC [1]: the memory test's gateway runs with
#       --inspect on 127.0.0.1 so a full GC can be forced before each reading (0: no inspector)
#   GATEWAY_MAIN [dist/gateway/src/main.js]   GATEWAY_LABEL [gateway]   GATEWAY_FLAGS [""] extra flags
#   EXTRA_GATEWAYS [""]  more gateway builds measured side by side, ';'-separated
#       'label=command' items; the script appends --listen/--upstream/--upstream-security, e.g.
#       EXTRA_GATEWAYS='gw-patched=node /tmp/gw-patched/dist/gateway/src/main.js'
#   SOCAT_FLOOR [0]  1 adds 'socat-tcp': socat -b 262144 relaying plain TCP (no WebSocket), a
#       floor for the CPU any user-space read/write relay pays per MB on this kernel (needs socat)
#   WEBSOCKIFY [/usr/bin/websockify]   OUT [bench/results/<utc>]
set -euo pipefail

abs() { case $1 in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac; }
[ -z "${GATEWAY_MAIN:-}" ] || GATEWAY_MAIN=$(abs "$GATEWAY_MAIN")
[ -z "${OUT:-}" ] || OUT=$(abs "$OUT")
cd "$(dirname "$0")"
BENCH_DIR=$(pwd)
REPO=$(cd .. && pwd)

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-3}
WARMUP_S=${WARMUP_S:-1}
CLIENTS=${CLIENTS-"1 10 50"}
PACED=${PACED-"10:3"}
ITERATIONS=${ITERATIONS:-1000}
RATE=${RATE:-1000}
INPUT_DURATION=${INPUT_DURATION:-2}
BURSTS=${BURSTS:-20}
BURST_SIZE=${BURST_SIZE:-1000}
INPUT=${INPUT:-1}
GEOMETRY=${GEOMETRY:-1920x1080}
DISPLAY_NUM=${DISPLAY_NUM:-71}
ENCODINGS=${ENCODINGS:-raw}
TIMEOUT_MS=${TIMEOUT_MS:-5000}
MEMORY_COUNTS=${MEMORY_COUNTS:-0,50,200}
MEMORY_MODES=${MEMORY_MODES-"idle frame"}
MEMORY_SETTLE_MS=${MEMORY_SETTLE_MS:-3000}
MEMORY_FORCE_GC=${MEMORY_FORCE_GC:-1}
WEBSOCKIFY=${WEBSOCKIFY:-/usr/bin/websockify}
GATEWAY_MAIN=${GATEWAY_MAIN:-$REPO/dist/gateway/src/main.js}
GATEWAY_FLAGS=${GATEWAY_FLAGS:-}
GATEWAY_LABEL=${GATEWAY_LABEL:-gateway}
EXTRA_GATEWAYS=${EXTRA_GATEWAYS:-}
SOCAT_FLOOR=${SOCAT_FLOOR:-0}
OUT=${OUT:-$BENCH_DIR/results/$(date -u +%Y%m%dT%H%M%SZ)}

exec 3>&2 # keep the original stderr: traps may run while a command's 2> redirection is active
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&3; }
die() { log "ERROR: $*"; exit 1; }

for cmd in Xvnc node ss setsid getconf "$WEBSOCKIFY"; do
  command -v "$cmd" >/dev/null || die "missing '$cmd' (run .ci/install-deps: tigervnc-standalone-server, websockify, python3-numpy; Node >= 20)"
done
[ "$SOCAT_FLOOR" = 0 ] || command -v socat >/dev/null || die "SOCAT_FLOOR=1 needs socat (apt-get install socat)"
[ -f "$GATEWAY_MAIN" ] || die "no gateway build at $GATEWAY_MAIN (run 'npm run build', or use 'npm run bench')"
[ -d "$REPO/node_modules/ws" ] || die "no node_modules/ws in $REPO (run 'npm ci')"

# ------------------------------------------------------------------ gateways to measure
[[ $GATEWAY_LABEL =~ ^[a-z][a-z0-9._-]*$ && ! $GATEWAY_LABEL =~ ^(direct|websockify|socat-tcp)$ ]] || die "bad GATEWAY_LABEL '$GATEWAY_LABEL'"
GW_LABELS=("$GATEWAY_LABEL")
declare -A GW_CMD=([$GATEWAY_LABEL]="node $(printf %q "$GATEWAY_MAIN")")
if [ -n "$EXTRA_GATEWAYS" ]; then
  IFS=';' read -r -a items <<<"$EXTRA_GATEWAYS"
  for item in "${items[@]}"; do
    item=$(sed -E 's/^[[:space:]]+|[[:space:]]+$//g' <<<"$item")
    [ -n "$item" ] || continue
    l=${item%%=*}; c=${item#*=}
    [[ $l =~ ^[a-z][a-z0-9._-]*$ && ! $l =~ ^(direct|websockify|socat-tcp)$ && -z ${GW_CMD[$l]+x} && $c != "$item" ]] \
      || die "EXTRA_GATEWAYS item '$item' is not 'label=command' with a new lower-case label"
    GW_LABELS+=("$l"); GW_CMD[$l]=$c
  done
fi

mkdir -p "$OUT"
: >"$OUT/results.jsonl"
: >"$OUT/memory.jsonl"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "kernel: $(uname -srm)"
  echo "cpus: $(nproc) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "node: $(node --version)  ws: $(cd "$REPO" && node -p "require('ws/package.json').version")"
  dpkg-query -W -f '${Package} ${Version}\n' tigervnc-standalone-server websockify python3-websockify python3-numpy 2>/dev/null || true
  echo "gateway: $GATEWAY_MAIN (repo $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD -- gateway policies 2>/dev/null || echo ', with uncommitted changes under gateway/ or policies/'))"
  for l in "${GW_LABELS[@]}"; do echo "gateway command [$l]: ${GW_CMD[$l]} $GATEWAY_FLAGS"; done
  echo "params: INPUT=$INPUT ROUNDS=$ROUNDS DURATION=$DURATION WARMUP_S=$WARMUP_S CLIENTS='$CLIENTS' PACED='$PACED' ITERATIONS=$ITERATIONS RATE=$RATE INPUT_DURATION=$INPUT_DURATION BURSTS=$BURSTS BURST_SIZE=$BURST_SIZE GEOMETRY=$GEOMETRY ENCODINGS=$ENCODINGS TIMEOUT_MS=$TIMEOUT_MS MEMORY_COUNTS=$MEMORY_COUNTS MEMORY_MODES='$MEMORY_MODES' MEMORY_SETTLE_MS=$MEMORY_SETTLE_MS MEMORY_FORCE_GC=$MEMORY_FORCE_GC"
} >"$OUT/env.txt"

# ------------------------------------------------------------------ lifecycle
GROUPS_STARTED=()
stop_group() { # PGID: TERM, wait up to 5 s, then KILL; forgets the group (its id may be reused)
  local pg=$1 g keep=()
  kill -TERM -- "-$pg" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 -- "-$pg" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pg" 2>/dev/null || true
  wait "$pg" 2>/dev/null || true
  for g in "${GROUPS_STARTED[@]}"; do [ "$g" = "$pg" ] || keep+=("$g"); done
  GROUPS_STARTED=("${keep[@]}")
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pg in "${GROUPS_STARTED[@]}"; do kill -TERM -- "-$pg" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for pg in "${GROUPS_STARTED[@]}"; do kill -0 -- "-$pg" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pg in "${GROUPS_STARTED[@]}"; do kill -KILL -- "-$pg" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ ${#GROUPS_STARTED[@]} -gt 0 ] && log "stopped process groups: ${GROUPS_STARTED[*]}"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_group NAME LOGFILE CMD... : start CMD as leader of a new process group; sets NAME_PID
start_group() {
  local name=$1 logf=$2; shift 2
  setsid "$@" </dev/null >"$logf" 2>&1 &
  local pid=$!
  GROUPS_STARTED+=("$pid")
  sleep 0.05
  local pgid
  pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ' || true)
  [ "$pgid" = "$pid" ] || die "$name (pid $pid) is not its own process group leader (pgid '$pgid')"
  printf -v "${name}_PID" %s "$pid"
}

port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

wait_port() { # PORT PID NAME LOG
  for _ in $(seq 1 100); do
    port_busy "$1" && return 0
    kill -0 "$2" 2>/dev/null || { cat "$4" >&2; die "$3 exited during startup"; }
    sleep 0.1
  done
  cat "$4" >&2; die "$3 did not listen on 127.0.0.1:$1 within 10 s"
}

# the node process of a gateway group (the group leader may be a wrapper such as bash or env)
group_node_pid() { # PGID
  local p
  for p in $(pgrep -g "$1" 2>/dev/null); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = node ] && { echo "$p"; return 0; }
  done
  echo "$1"
}

# ------------------------------------------------------------------ ports
d=$DISPLAY_NUM
while [ -e "/tmp/.X$d-lock" ] || [ -e "/tmp/.X11-unix/X$d" ] || port_busy $((5900 + d)) || port_busy $((6900 + d)); do
  d=$((d + 1))
  [ $d -le $((DISPLAY_NUM + 20)) ] || die "no free display in :$DISPLAY_NUM..:$((DISPLAY_NUM + 20))"
done
RFB_PORT=$((5900 + d))
WS_PORT=$((6900 + d))
declare -A GW_PORT=()
p=$((7900 + d))
SOCAT_PORT=$((8900 + d))
while [ "$SOCAT_FLOOR" != 0 ] && port_busy $SOCAT_PORT; do SOCAT_PORT=$((SOCAT_PORT + 100)); done
for l in "${GW_LABELS[@]}"; do
  while port_busy $p; do p=$((p + 100)); done
  GW_PORT[$l]=$p; p=$((p + 100))
done

start_gateway() { # LABEL LOGFILE [extra flags...] ; sets GW_PID. GW_ENV: env assignments for it
  local l=$1 logf=$2; shift 2
  # Run in the results directory: the gateway's store (./data, audit log of the viewers) lands there.
  start_group GW "$logf" bash -c "cd $(printf %q "$OUT") && exec env ${GW_ENV:-} ${GW_CMD[$l]} --listen 127.0.0.1:${GW_PORT[$l]} --upstream 127.0.0.1:$RFB_PORT --upstream-security none $GATEWAY_FLAGS $*"
  wait_port "${GW_PORT[$l]}" "$GW_PID" "$l" "$logf"
}

# ------------------------------------------------------------------ Xvnc, websockify
log "Xvnc :$d ${GEOMETRY} on 127.0.0.1:$RFB_PORT, websockify on $WS_PORT, gateway(s) ${GW_LABELS[*]} on $(for l in "${GW_LABELS[@]}"; do printf '%s ' "${GW_PORT[$l]}"; done); results in $OUT"
# -UseBlacklist=0: TigerVNC otherwise rejects a host ("Too many security failures") once 5
# connections from it are between accept and completed authentication at the same time.
start_group XVNC "$OUT/xvnc.log" Xvnc ":$d" -geometry "$GEOMETRY" -depth 24 \
  -SecurityTypes None -AlwaysShared -localhost -interface 127.0.0.1 -rfbport "$RFB_PORT" \
  -nolisten tcp -UseBlacklist=0 -desktop rfb-bench
wait_port "$RFB_PORT" "$XVNC_PID" Xvnc "$OUT/xvnc.log"
# static screen content (irrelevant for Raw, which always costs w*h*4 bytes)
if command -v xsetroot >/dev/null; then DISPLAY=":$d" xsetroot -mod 16 16 -fg '#204a87' -bg '#eeeeec' || true; fi

start_group WS "$OUT/websockify.log" "$WEBSOCKIFY" "127.0.0.1:$WS_PORT" "127.0.0.1:$RFB_PORT"
wait_port "$WS_PORT" "$WS_PID" websockify "$OUT/websockify.log"

# ------------------------------------------------------------------ memory per idle viewer
# A fresh gateway process per mode, so one mode's traffic does not inflate the next one's
# baseline. The default limit of 200 viewers is raised through a config file when needed.
MEM_MAX=$(tr ',' '\n' <<<"$MEMORY_COUNTS" | sort -n | tail -1)
MEMORY_FAILS=0
if [ -n "$MEMORY_MODES" ] && [ "${MEM_MAX:-0}" -gt 0 ]; then
  cat >"$OUT/memory-gateway.yaml" <<EOF
# written by bench/run-bench.sh for the idle-memory test; --listen/--upstream override the rest
insecureNoLogin: true   # loopback only, as the benchmark's flags-only gateway
targets:
  - { id: default, name: rfb-bench, host: 127.0.0.1, port: $RFB_PORT, security: [none] }
limits:
  maxViewers: $((MEM_MAX + 16))
EOF
  INSPECT_PORT=$((9200 + d))
  while port_busy $INSPECT_PORT; do INSPECT_PORT=$((INSPECT_PORT + 100)); done
  MEM_INSPECT=()
  [ "$MEMORY_FORCE_GC" = 0 ] || MEM_INSPECT=(--inspect "127.0.0.1:$INSPECT_PORT")
  for l in "${GW_LABELS[@]}"; do
    for mode in $MEMORY_MODES; do
      GW_ENV=
      [ "$MEMORY_FORCE_GC" = 0 ] || GW_ENV="NODE_OPTIONS=--inspect=127.0.0.1:$INSPECT_PORT"
      start_gateway "$l" "$OUT/memory-$l-$mode.log" --config "$(printf %q "$OUT/memory-gateway.yaml")"
      GW_ENV=
      [ "$MEMORY_FORCE_GC" = 0 ] || wait_port "$INSPECT_PORT" "$GW_PID" "$l inspector" "$OUT/memory-$l-$mode.log"
      npid=$(group_node_pid "$GW_PID")
      log "memory per idle viewer: $l, mode $mode, viewers $MEMORY_COUNTS (gateway pid $npid)"
      if ! node idle-memory.mjs --target "ws://127.0.0.1:${GW_PORT[$l]}/desktop/default" --pid "$npid" \
          --readyz "http://127.0.0.1:${GW_PORT[$l]}/readyz" --counts "$MEMORY_COUNTS" --mode "$mode" \
          --settle-ms "$MEMORY_SETTLE_MS" --label "$l" --timeout-ms "$TIMEOUT_MS" "${MEM_INSPECT[@]}" \
          >>"$OUT/memory.jsonl" 2>>"$OUT/harness.log"; then
        MEMORY_FAILS=$((MEMORY_FAILS + 1)); log "  FAILED ($l memory $mode); see $OUT/harness.log"
      fi
      stop_group "$GW_PID"
    done
  done
fi

# ------------------------------------------------------------------ gateways for the rounds
LABELS=(direct websockify)
declare -A TARGET=([direct]="127.0.0.1:$RFB_PORT" [websockify]="ws://127.0.0.1:$WS_PORT/")
declare -A PGID=([websockify]=$WS_PID)
for l in "${GW_LABELS[@]}"; do
  start_gateway "$l" "$OUT/$l.log"
  PGID[$l]=$GW_PID
  LABELS+=("$l")
  TARGET[$l]="ws://127.0.0.1:${GW_PORT[$l]}/desktop/default"
done

if [ "$SOCAT_FLOOR" != 0 ]; then
  start_group SOCAT "$OUT/socat.log" socat -b 262144 "TCP-LISTEN:$SOCAT_PORT,bind=127.0.0.1,fork,reuseaddr,nodelay" "TCP:127.0.0.1:$RFB_PORT,nodelay"
  wait_port "$SOCAT_PORT" "$SOCAT_PID" socat "$OUT/socat.log"
  PGID[socat-tcp]=$SOCAT_PID
  LABELS+=(socat-tcp)
  TARGET[socat-tcp]="127.0.0.1:$SOCAT_PORT"
fi

COMMON=(--encodings "$ENCODINGS" --timeout-ms "$TIMEOUT_MS" --watch-pgid "xvnc=$XVNC_PID" --clk-tck "$(getconf CLK_TCK)")

bench() { # LABEL HARNESS-ARGS...  (stdout: JSON lines)
  local l=$1; shift
  local extra=()
  [ -n "${PGID[$l]:-}" ] && extra+=(--watch-pgid "proxy=${PGID[$l]}")
  node rfb-bench.mjs --target "${TARGET[$l]}" --label "$l" "${COMMON[@]}" "${extra[@]}" "$@"
}

# ------------------------------------------------------------------ smoke test
for l in "${LABELS[@]}"; do
  if ! bench "$l" --scenario latency --iterations 5 --warmup 1 >"$OUT/smoke-$l.json" 2>>"$OUT/harness.log"; then
    cat "$OUT/smoke-$l.json" >&2; die "smoke test against $l (${TARGET[$l]}) failed; see $OUT/harness.log"
  fi
done

# ------------------------------------------------------------------ interleaved rounds
SCENARIOS=(latency)
for k in $CLIENTS; do SCENARIOS+=("throughput:$k"); done
for p in $PACED; do SCENARIOS+=("paced:$p"); done
[ "$INPUT" = 0 ] || SCENARIOS+=(input)
FAILS=0
T0=$(date +%s)
for r in $(seq 1 "$ROUNDS"); do
  # the order of the targets is reversed in even rounds
  if (( r % 2 )); then order=("${LABELS[@]}"); else order=(); for ((i=${#LABELS[@]}-1; i>=0; i--)); do order+=("${LABELS[$i]}"); done; fi
  for sc in "${SCENARIOS[@]}"; do
    case $sc in
      latency) args=(--scenario latency --iterations "$ITERATIONS") ;;
      throughput:*) args=(--scenario throughput --clients "${sc#*:}" --duration "$DURATION" --warmup-s "$WARMUP_S") ;;
      paced:*) p=${sc#paced:}; args=(--scenario throughput --clients "${p%%:*}" --fps "${p#*:}" --duration "$DURATION" --warmup-s "$WARMUP_S") ;;
      input) args=(--scenario input --rate "$RATE" --input-duration "$INPUT_DURATION" --bursts "$BURSTS" --burst-size "$BURST_SIZE") ;;
    esac
    for l in "${order[@]}"; do
      log "round $r/$ROUNDS  $sc  $l"
      if ! bench "$l" --round "$r" "${args[@]}" >>"$OUT/results.jsonl" 2>>"$OUT/harness.log"; then
        FAILS=$((FAILS + 1)); log "  FAILED ($l $sc round $r); see $OUT/harness.log"
      fi
      kill -0 "$XVNC_PID" 2>/dev/null || die "Xvnc died; see $OUT/xvnc.log"
      for pl in "${!PGID[@]}"; do
        kill -0 "${PGID[$pl]}" 2>/dev/null || die "$pl died; see $OUT/$pl.log"
      done
    done
  done
done
log "measurement took $(( $(date +%s) - T0 )) s"

node summarize.mjs "$OUT/results.jsonl" --memory "$OUT/memory.jsonl" --candidates "${GW_LABELS[*]}" \
  --md "$OUT/summary.md" --json "$OUT/summary.json" | tee "$OUT/summary.txt"
[ "$FAILS" = 0 ] || die "$FAILS harness run(s) failed (they show as '-' in the table); see $OUT/harness.log"
[ "$MEMORY_FAILS" = 0 ] || die "$MEMORY_FAILS memory test(s) failed; see $OUT/harness.log"
