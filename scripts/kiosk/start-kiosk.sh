#!/usr/bin/env bash
# Beamgate kiosk desktop: Xtigervnc (VncAuth, loopback or Unix socket only) +
# openbox in kiosk mode + the allow-listed applications, each kept running.
# No terminal, no launcher, no window-manager shortcuts. See docs/kiosk-desktop.md.
#
# Everything it starts runs under one supervisor process (its own session and
# process group); the state directory records the PIDs so stop-kiosk.sh stops
# exactly that and nothing else.
set -euo pipefail

KIOSK_PROG='start-kiosk.sh'
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=kiosk-lib.sh
. "$HERE/kiosk-lib.sh"

usage() {
  cat <<'EOF'
Usage: start-kiosk.sh --apps FILE [options]

Starts a kiosk VNC desktop and returns once it is ready (or stays in the
foreground with --foreground). Every option also has an environment variable.

  --apps FILE            KIOSK_APPS_FILE      allow-listed applications, one command per
                                              line (words split on blanks, no shell syntax;
                                              '#' starts a comment line). Required.
  --state-dir DIR        KIOSK_STATE_DIR      pids, display, port, logs
                                              (default ${XDG_RUNTIME_DIR:-/tmp}/beamgate-kiosk-$UID)
  --geometry WxH         KIOSK_GEOMETRY       framebuffer size (default 1280x800)
  --depth N              KIOSK_DEPTH          colour depth (default 24)
  --display N|auto       KIOSK_DISPLAY        X display number (default auto, via -displayfd)
  --port P|auto|0|none   KIOSK_PORT           RFB TCP port on 127.0.0.1/::1 only; auto and 0
                                              mean 5900+display; none = no TCP (needs --unix-socket)
  --unix-socket PATH     KIOSK_UNIX_SOCKET    also serve RFB on this Unix socket (mode 0600)
  --password-file F      KIOSK_PASSWORD_FILE  VncAuth password file (vncpasswd format, mode 0600)
  --password-stdin                            read the password (line 1) and an optional
                                              view-only password (line 2) from stdin
                         KIOSK_PASSWORD, KIOSK_VIEW_PASSWORD: the same from the environment
  --name NAME            KIOSK_NAME           desktop name sent in ServerInit (default beamline-kiosk)
  --no-blacklist         KIOSK_NO_BLACKLIST=1 -UseBlacklist=0 (for tests: the gateway connects
                                              from one address, see the docs)
  --allow-resize         KIOSK_ALLOW_RESIZE=1 accept SetDesktopSize (default: fixed geometry)
  --no-clipboard         KIOSK_NO_CLIPBOARD=1 -AcceptCutText=0 -SendCutText=0
  --xvnc-arg ARG                              one extra Xtigervnc parameter (repeatable);
                                              listener and security parameters are refused
  --timeout SECONDS      KIOSK_START_TIMEOUT  how long to wait for readiness (default 30)
  --foreground                                stay in the foreground (systemd Type=simple);
                                              SIGTERM stops the kiosk
  --exit-with PID                             stop the kiosk when process PID exits
                                              (test runners: no desktop outlives them)
  -h, --help
EOF
}

# ---------------------------------------------------------------------------
# Supervisor: runs in its own session (setsid), owns every kiosk process.
# ---------------------------------------------------------------------------

declare -A ROLE_OF=()   # pid -> role (xvnc, openbox, app-N)
declare -A PID_OF=()    # role -> pid
declare -A STARTED_AT=() # role -> epoch seconds of the last (re)start
declare -A BACKOFF=()   # role -> seconds to wait before the next restart
declare -a APP_LINES=()
STOPPING=0
XVNC_PID=''
XVNC_LOG_OFFSET=0
SLEEP_PID=''

sv_log() { kiosk_log "$*"; }

log_size() { stat -c %s -- "$1" 2>/dev/null || echo 0; }
log_since() { tail -c +$(($2 + 1)) -- "$1" 2>/dev/null || true; } # log_since FILE OFFSET

write_pids() {
  local role tmp="$STATE/pids.tmp" start
  : >"$tmp"
  for role in "${!PID_OF[@]}"; do
    start=$(proc_start "${PID_OF[$role]}") || continue
    printf '%s %s %s\n' "$role" "${PID_OF[$role]}" "$start" >>"$tmp"
  done
  mv -f "$tmp" "$STATE/pids"
}

track() { # track ROLE PID
  ROLE_OF[$2]=$1
  PID_OF[$1]=$2
  STARTED_AT[$1]=$(date +%s)
  write_pids
}

untrack() { # untrack PID
  local role=${ROLE_OF[$1]:-}
  unset "ROLE_OF[$1]"
  if [[ -n $role ]]; then unset "PID_OF[$role]"; fi
  write_pids
}

sv_fail() {
  sv_log "FAILED: $*"
  sv_cleanup
  # Written last: the front end reports it, and a retry may start right away.
  printf '%s\n' "$*" >"$STATE/failed"
  exit 1
}

# Stop apps first, then the window manager, then the X server, so nothing
# logs a lost-display error on the way down; -9 whatever ignores TERM.
sv_cleanup() {
  local role pid i
  local -a order=()
  STOPPING=1
  # From here on, our own group TERM (below) and a second stop request must
  # not re-enter this function.
  trap '' TERM INT HUP
  rm -f "$STATE/ready"
  if [[ -n $SLEEP_PID ]]; then kill "$SLEEP_PID" 2>/dev/null || true; fi
  for role in "${!PID_OF[@]}"; do [[ $role == openbox || $role == xvnc ]] || order+=("$role"); done
  order+=(openbox xvnc)
  for role in "${order[@]}"; do
    pid=${PID_OF[$role]:-}
    [[ -n $pid ]] || continue
    kill -TERM "$pid" 2>/dev/null || true
    # bash reaps its children as they exit, so kill -0 fails once this one is gone.
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if ((i == 50)); then kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
    unset "PID_OF[$role]"
  done
  # Anything an app left behind in our process group (helpers, forks).
  if [[ $(proc_pgid $$) == "$$" ]]; then
    kill -TERM -- "-$$" 2>/dev/null || true
  fi
  if [[ -n ${K_UNIX:-} ]]; then rm -f "$K_UNIX"; fi
  rm -f "$STATE/pids"
  sv_log "kiosk stopped"
}

on_signal() {
  # timeout(1), systemd and stop-kiosk.sh may each send a TERM; handle one.
  trap '' TERM INT HUP
  sv_log "stop requested"
  sv_cleanup
  exit 0
}

# Whatever ends the supervisor (including an unexpected error under set -e)
# must not leave the X server and applications orphaned.
on_exit() {
  ((STOPPING)) || sv_cleanup
}

port_in_use() { # port_in_use PORT: something accepts connections on loopback
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

display_free() { # display_free N
  [[ ! -e /tmp/.X11-unix/X$1 && ! -e /tmp/.X$1-lock ]]
}

# One Xtigervnc attempt on display $1 ('' = let -displayfd pick one).
# Returns 0 when ready, 2 when the RFB port was taken, 3 when the display was,
# 1 on other failures.
try_xvnc() {
  local display=$1 i n
  local -a args=()
  [[ -n $display ]] && args+=(":$display")
  args+=(-displayfd 3 -auth "$STATE/Xauthority" -nolisten tcp
    -geometry "$K_GEOMETRY" -depth "$K_DEPTH" -desktop "$K_NAME"
    -SecurityTypes VncAuth -PasswordFile "$K_PASSFILE"
    -localhost -AlwaysShared)
  # -localhost binds 127.0.0.1 and ::1 only (it overrides -interface).
  case $K_PORT in
    auto) ;; # Xvnc's default: 5900 + display
    none) args+=(-rfbport -1) ;;
    *) args+=(-rfbport "$K_PORT") ;;
  esac
  if [[ -n $K_UNIX ]]; then
    args+=(-rfbunixpath "$K_UNIX" -rfbunixmode 0600)
  fi
  [[ $K_ALLOW_RESIZE == 1 ]] || args+=(-AcceptSetDesktopSize=0)
  [[ $K_NO_CLIPBOARD == 1 ]] && args+=(-AcceptCutText=0 -SendCutText=0)
  [[ $K_NO_BLACKLIST == 1 ]] && args+=(-UseBlacklist=0)
  args+=("${K_XVNC_EXTRA[@]}")

  : >"$STATE/displayfd"
  # Logs are appended across runs; only this attempt's part counts.
  XVNC_LOG_OFFSET=$(log_size "$STATE/xvnc.log")
  printf '%s Xtigervnc %s\n' "$(date '+%Y-%m-%dT%H:%M:%S')" "${args[*]}" >>"$STATE/xvnc.log"
  Xtigervnc "${args[@]}" 3>"$STATE/displayfd" </dev/null >>"$STATE/xvnc.log" 2>&1 &
  XVNC_PID=$!
  for ((i = 0; i < 200; i++)); do
    n=$(tr -dc '0-9' <"$STATE/displayfd")
    if [[ -n $n ]]; then
      DISPLAY_NUM=$n
      track xvnc "$XVNC_PID"
      return 0
    fi
    if ! kill -0 "$XVNC_PID" 2>/dev/null; then
      wait "$XVNC_PID" 2>/dev/null || true
      if log_since "$STATE/xvnc.log" "$XVNC_LOG_OFFSET" | grep -q 'Address already in use'; then return 2; fi
      if log_since "$STATE/xvnc.log" "$XVNC_LOG_OFFSET" | grep -qE 'server already running|already active for display'; then
        return 3
      fi
      return 1
    fi
    sleep 0.05
  done
  kill -KILL "$XVNC_PID" 2>/dev/null || true
  wait "$XVNC_PID" 2>/dev/null || true
  sv_log "Xtigervnc did not report a display within 10 s"
  return 1
}

start_xvnc() {
  local rc=0 cand=1 tries=0
  if [[ $K_DISPLAY == auto ]]; then
    try_xvnc '' || rc=$?
    # -displayfd picks the lowest free display, so when 5900+N is taken by some
    # other program, walk on to displays whose lock and port are both free.
    while ((rc == 2)) && [[ $K_PORT == auto ]] && ((tries < 20)); do
      while ! display_free "$cand" || port_in_use $((5900 + cand)); do cand=$((cand + 1)); done
      sv_log "RFB port taken, retrying on display :$cand"
      rc=0
      try_xvnc "$cand" || rc=$?
      cand=$((cand + 1)) tries=$((tries + 1))
    done
  else
    try_xvnc "$K_DISPLAY" || rc=$?
  fi
  case $rc in
    0) ;;
    2) sv_fail "Xtigervnc: RFB port already in use (see $STATE/xvnc.log)" ;;
    3) sv_fail "Xtigervnc: display :$K_DISPLAY is already in use (see $STATE/xvnc.log)" ;;
    *) sv_fail "Xtigervnc failed to start (see $STATE/xvnc.log)" ;;
  esac
}

# The promise of this recipe: Xvnc listens on loopback TCP or Unix sockets and
# nothing else. Check the kernel's socket table rather than trust the flags.
check_listeners() { # check_listeners PID
  local fd link inodes=' ' bad
  for fd in /proc/"$1"/fd/*; do
    link=$(readlink "$fd" 2>/dev/null) || continue
    [[ $link == socket:\[*\] ]] || continue
    link=${link#socket:[}
    inodes+="${link%]} "
  done
  # /proc/net/tcp*: field 2 local address (hex), 4 state (0A = LISTEN), 10 inode.
  bad=$(awk -v inodes="$inodes" '
    FNR > 1 && $4 == "0A" && index(inodes, " " $10 " ") {
      split($2, a, ":")
      if (a[1] != "0100007F" && a[1] != "00000000000000000000000001000000") print $2
    }' /proc/net/tcp /proc/net/tcp6)
  [[ -z $bad ]] || sv_fail "Xtigervnc listens on a non-loopback address ($bad); refusing to run"
}

rfb_port_from_log() {
  log_since "$STATE/xvnc.log" "$XVNC_LOG_OFFSET" |
    sed -n 's/.*Listening for VNC connections on [^,]*, port \([0-9][0-9]*\).*/\1/p' | tail -n 1
}

wm_ready() {
  # Root properties survive a dead window manager, so the check window named by
  # _NET_SUPPORTING_WM_CHECK must itself exist and belong to Openbox.
  local id
  id=$(xprop -root _NET_SUPPORTING_WM_CHECK 2>/dev/null | awk '/window id/ {print $NF}')
  [[ -n $id ]] && xprop -id "$id" _NET_WM_NAME 2>/dev/null | grep -q '"Openbox"'
}

start_openbox() {
  local pid i offset
  offset=$(log_size "$STATE/openbox.log")
  printf '%s starting openbox\n' "$(date '+%Y-%m-%dT%H:%M:%S')" >>"$STATE/openbox.log"
  # XDG_CONFIG_HOME points at an empty directory so no user's openbox menus or
  # config can add anything to the kiosk.
  XDG_CONFIG_HOME="$STATE/xdg" openbox --sm-disable --config-file "$STATE/openbox-rc.xml" \
    </dev/null >>"$STATE/openbox.log" 2>&1 &
  pid=$!
  track openbox "$pid"
  for ((i = 0; i < 200; i++)); do
    wm_ready && break
    kill -0 "$pid" 2>/dev/null || sv_fail "openbox exited at start (see $STATE/openbox.log)"
    sleep 0.05
  done
  wm_ready || sv_fail "openbox did not become ready within 10 s (see $STATE/openbox.log)"
  # Openbox falls back to its default key bindings (Alt+F4, Alt+Tab...) when
  # the rc file does not parse: that is no kiosk, so refuse.
  if log_since "$STATE/openbox.log" "$offset" | grep -qiE 'parser error|unable to find a valid config|unable to load'; then
    sv_fail "openbox could not load $STATE/openbox-rc.xml (see $STATE/openbox.log)"
  fi
}

# After openbox restarts it adopts the existing windows without focusing any;
# give the keyboard back to the topmost application window.
refocus_client() {
  local last
  command -v xdotool >/dev/null 2>&1 || return 0
  last=$(xprop -root _NET_CLIENT_LIST_STACKING 2>/dev/null | awk -F'# ' '/window id/ {n = split($2, w, ", "); print w[n]}')
  if [[ $last == 0x* ]]; then xdotool windowactivate "$((last))" 2>/dev/null || true; fi
}

start_app() { # start_app INDEX
  local idx=$1 role="app-$1" pid
  local -a argv=()
  read -r -a argv <<<"${APP_LINES[$idx]}"
  printf '%s starting: %s\n' "$(date '+%Y-%m-%dT%H:%M:%S')" "${APP_LINES[$idx]}" >>"$STATE/$role.log"
  "${argv[@]}" </dev/null >>"$STATE/$role.log" 2>&1 &
  pid=$!
  track "$role" "$pid"
}

load_apps() {
  local line
  APP_LINES=()
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line#"${line%%[![:space:]]*}"}
    line=${line%"${line##*[![:space:]]}"}
    [[ -z $line || $line == \#* ]] && continue
    APP_LINES+=("$line")
  done <"$STATE/apps"
}

# Sleep that a stop request can interrupt (a plain foreground sleep would delay
# the TERM trap until it ends).
interruptible_sleep() {
  sleep "$1" &
  SLEEP_PID=$!
  wait "$SLEEP_PID" 2>/dev/null || true
  SLEEP_PID=''
}

supervise() {
  STATE=$1
  # shellcheck source=/dev/null
  . "$STATE/config"
  exec 0</dev/null
  printf '%s %s\n' "$$" "$(proc_start $$)" >"$STATE/supervisor.pid"
  trap on_signal TERM INT HUP
  trap on_exit EXIT
  sv_log "supervisor $$ starting (state $STATE)"

  local role pid rc idx now ran delay port

  start_xvnc
  export DISPLAY=":$DISPLAY_NUM" XAUTHORITY="$STATE/Xauthority"
  check_listeners "$XVNC_PID"
  port=none
  if [[ $K_PORT != none ]]; then
    port=$(rfb_port_from_log)
    [[ -n $port ]] || port=$((5900 + DISPLAY_NUM))
  fi
  printf '%s\n' "$DISPLAY_NUM" >"$STATE/display"
  printf '%s\n' "$port" >"$STATE/rfbport"
  printf '%s\n' "$K_UNIX" >"$STATE/unix-socket"
  {
    printf 'KIOSK_DISPLAY=%q\n' ":$DISPLAY_NUM"
    printf 'KIOSK_RFB_HOST=%q\n' 127.0.0.1
    printf 'KIOSK_RFB_PORT=%q\n' "$port"
    printf 'KIOSK_UNIX_SOCKET=%q\n' "$K_UNIX"
    printf 'KIOSK_XAUTHORITY=%q\n' "$STATE/Xauthority"
    printf 'KIOSK_STATE_DIR=%q\n' "$STATE"
  } >"$STATE/env"

  # A plain dark background instead of the X root weave (cosmetic, optional).
  if command -v xsetroot >/dev/null 2>&1; then xsetroot -solid '#1d232b' || true; fi

  start_openbox

  load_apps
  for idx in "${!APP_LINES[@]}"; do
    BACKOFF[app-$idx]=1
    start_app "$idx"
  done

  # Tie the kiosk's life to another process (a test runner): if it dies
  # without calling stop-kiosk.sh, the desktop goes away too.
  if [[ -n $K_EXIT_WITH ]]; then
    (
      trap - TERM INT HUP EXIT
      while same_process "$K_EXIT_WITH" "$K_EXIT_WITH_START"; do sleep 1; done
    ) &
    track watch "$!"
  fi

  : >"$STATE/ready"
  sv_log "kiosk ready: display :$DISPLAY_NUM, rfb port $port${K_UNIX:+, unix socket $K_UNIX}, ${#APP_LINES[@]} app(s)"

  while :; do
    pid=''
    rc=0
    wait -n -p pid || rc=$?
    ((STOPPING)) && break
    [[ -n $pid ]] || continue # interrupted by a signal whose trap returned
    role=${ROLE_OF[$pid]:-}
    [[ -n $role ]] || continue # e.g. an interruptible_sleep child
    untrack "$pid"
    case $role in
      xvnc)
        sv_fail "Xtigervnc exited (status $rc; see $STATE/xvnc.log)"
        ;;
      watch)
        sv_log "process $K_EXIT_WITH is gone; stopping the kiosk"
        sv_cleanup
        exit 0
        ;;
      openbox)
        sv_log "openbox exited (status $rc); restarting it"
        interruptible_sleep 1
        ((STOPPING)) && break
        start_openbox
        refocus_client
        ;;
      app-*)
        # A kiosk keeps its application up; back off when it keeps dying
        # quickly so a broken command does not spin.
        now=$(date +%s)
        ran=$((now - ${STARTED_AT[$role]:-now}))
        delay=${BACKOFF[$role]:-1}
        if ((ran >= 30)); then delay=1; fi
        sv_log "$role exited after ${ran}s (status $rc); restarting in ${delay}s"
        interruptible_sleep "$delay"
        ((STOPPING)) && break
        BACKOFF[$role]=$((delay * 2 > 30 ? 30 : delay * 2))
        start_app "${role#app-}"
        ;;
    esac
  done
}

if [[ ${1:-} == --_supervise ]]; then
  supervise "$2"
  exit 0
fi

# ---------------------------------------------------------------------------
# Front end: parse options, prepare the state directory, launch the
# supervisor and wait until the kiosk is ready.
# ---------------------------------------------------------------------------

APPS_FILE=${KIOSK_APPS_FILE:-}
STATE=${KIOSK_STATE_DIR:-${XDG_RUNTIME_DIR:-/tmp}/beamgate-kiosk-$(id -u)}
K_GEOMETRY=${KIOSK_GEOMETRY:-1280x800}
K_DEPTH=${KIOSK_DEPTH:-24}
K_DISPLAY=${KIOSK_DISPLAY:-auto}
K_PORT=${KIOSK_PORT:-auto}
K_UNIX=${KIOSK_UNIX_SOCKET:-}
PASSWORD_FILE=${KIOSK_PASSWORD_FILE:-}
K_NAME=${KIOSK_NAME:-beamline-kiosk}
K_NO_BLACKLIST=${KIOSK_NO_BLACKLIST:-0}
K_ALLOW_RESIZE=${KIOSK_ALLOW_RESIZE:-0}
K_NO_CLIPBOARD=${KIOSK_NO_CLIPBOARD:-0}
TIMEOUT=${KIOSK_START_TIMEOUT:-30}
K_EXIT_WITH=''
FOREGROUND=0
PASSWORD_STDIN=0
K_XVNC_EXTRA=()

need_arg() { [[ $# -ge 2 ]] || kiosk_die "$1 needs a value (see --help)"; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --apps) need_arg "$@"; APPS_FILE=$2; shift 2 ;;
    --state-dir) need_arg "$@"; STATE=$2; shift 2 ;;
    --geometry) need_arg "$@"; K_GEOMETRY=$2; shift 2 ;;
    --depth) need_arg "$@"; K_DEPTH=$2; shift 2 ;;
    --display) need_arg "$@"; K_DISPLAY=${2#:}; shift 2 ;;
    --port) need_arg "$@"; K_PORT=$2; shift 2 ;;
    --unix-socket) need_arg "$@"; K_UNIX=$2; shift 2 ;;
    --password-file) need_arg "$@"; PASSWORD_FILE=$2; shift 2 ;;
    --password-stdin) PASSWORD_STDIN=1; shift ;;
    --name) need_arg "$@"; K_NAME=$2; shift 2 ;;
    --no-blacklist) K_NO_BLACKLIST=1; shift ;;
    --allow-resize) K_ALLOW_RESIZE=1; shift ;;
    --no-clipboard) K_NO_CLIPBOARD=1; shift ;;
    --xvnc-arg) need_arg "$@"; K_XVNC_EXTRA+=("$2"); shift 2 ;;
    --timeout) need_arg "$@"; TIMEOUT=$2; shift 2 ;;
    --foreground) FOREGROUND=1; shift ;;
    --exit-with) need_arg "$@"; K_EXIT_WITH=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) kiosk_die "unknown option '$1' (see --help)" ;;
  esac
done

# --- validate -------------------------------------------------------------
need_bin Xtigervnc tigervnc-standalone-server "the VNC X server"
need_bin openbox openbox "the kiosk window manager"
need_bin xprop x11-utils "used to wait for the window manager"
need_bin setsid util-linux
need_bin awk mawk

[[ -n $APPS_FILE ]] || kiosk_die "no applications: give --apps FILE (one allow-listed command per line)"
[[ -r $APPS_FILE ]] || kiosk_die "apps file '$APPS_FILE' is not readable"
[[ $K_GEOMETRY =~ ^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$ ]] || kiosk_die "bad --geometry '$K_GEOMETRY' (want WxH, e.g. 1280x800)"
[[ $K_DEPTH =~ ^(16|24|32)$ ]] || kiosk_die "bad --depth '$K_DEPTH' (16, 24 or 32)"
[[ $K_DISPLAY == auto || $K_DISPLAY =~ ^[0-9]{1,4}$ ]] || kiosk_die "bad --display '$K_DISPLAY' (a number or auto)"
[[ $K_PORT == 0 ]] && K_PORT=auto
[[ $K_PORT =~ ^(auto|none)$ || ($K_PORT =~ ^[0-9]{1,5}$ && $K_PORT -ge 1 && $K_PORT -le 65535) ]] ||
  kiosk_die "bad --port '$K_PORT' (1-65535, auto, 0 or none)"
[[ $K_PORT != none || -n $K_UNIX ]] || kiosk_die "--port none needs --unix-socket PATH (otherwise nothing could connect)"
[[ -z $K_UNIX || $K_UNIX == /* ]] || kiosk_die "--unix-socket needs an absolute path"
[[ $TIMEOUT =~ ^[0-9]+$ && $TIMEOUT -gt 0 ]] || kiosk_die "bad --timeout '$TIMEOUT'"
[[ $K_NAME =~ ^[[:print:]]{1,64}$ ]] || kiosk_die "bad --name (1-64 printable characters)"
K_EXIT_WITH_START=''
if [[ -n $K_EXIT_WITH ]]; then
  K_EXIT_WITH_START=$(proc_start "$K_EXIT_WITH" 2>/dev/null) || kiosk_die "--exit-with: no process $K_EXIT_WITH"
fi

# Extra Xvnc parameters must not reopen what this recipe closes (AllowOverride would let any
# X client on the display change SecurityTypes with vncconfig, down to None). Only the
# one-token form -Name or -Name=value is accepted, so no value can smuggle in
# a second parameter.
for arg in "${K_XVNC_EXTRA[@]}"; do
  [[ $arg == -* ]] || kiosk_die "--xvnc-arg '$arg': write Xvnc parameters as one token, -Name or -Name=value"
  lower=${arg,,}
  lower=${lower#-}
  lower=${lower#-}
  case ${lower%%=*} in
    localhost | interface | rfbport | rfbunixpath | rfbunixmode | securitytypes | passwordfile | rfbauth | \
      listen | nolisten | query | indirect | broadcast | auth | displayfd | inetd | x509cert | x509key | \
      plainusers | pamservice | nevershared | alwaysshared | disconnectclients | ac | from | once | \
      allowoverride)
      kiosk_die "--xvnc-arg '$arg' is managed by start-kiosk.sh and may not be overridden"
      ;;
  esac
  [[ $arg == :* ]] && kiosk_die "--xvnc-arg '$arg': use --display"
done

# The allow list: every command must exist, and shells and terminals are
# refused outright (a kiosk with a terminal is a remote shell).
mapfile -t _raw_lines <"$APPS_FILE"
app_count=0
for line in "${_raw_lines[@]}"; do
  line=${line#"${line%%[![:space:]]*}"}
  line=${line%"${line##*[![:space:]]}"}
  [[ -z $line || $line == \#* ]] && continue
  read -r -a words <<<"$line"
  base=${words[0]##*/}
  case $base in
    sh | bash | dash | zsh | ksh | csh | tcsh | fish | busybox | env | xterm | uxterm | x-terminal-emulator | \
      gnome-terminal | konsole | xfce4-terminal | lxterminal | mate-terminal | terminator | tilix | urxvt | \
      rxvt | kitty | alacritty | st | foot | sakura | qterminal | eterm | tmux | screen | su | sudo | ssh)
      kiosk_die "apps file: '$base' is a shell or terminal; a kiosk must not offer one (line: $line)"
      ;;
  esac
  command -v "${words[0]}" >/dev/null 2>&1 || kiosk_die "apps file: '${words[0]}' not found or not executable (line: $line)"
  app_count=$((app_count + 1))
done
((app_count > 0)) || kiosk_die "apps file '$APPS_FILE' lists no application"

# --- state directory --------------------------------------------------------
umask 077
mkdir -p -- "$STATE"
STATE=$(cd -- "$STATE" && pwd)
chmod 700 "$STATE"
if [[ -f $STATE/supervisor.pid ]]; then
  read -r old_pid old_start <"$STATE/supervisor.pid" || true
  if same_process "${old_pid:-x}" "${old_start:-x}"; then
    kiosk_die "a kiosk is already running from $STATE (supervisor $old_pid); stop it with stop-kiosk.sh --state-dir $STATE"
  fi
fi
rm -f -- "$STATE"/{ready,failed,pids,pids.tmp,display,rfbport,unix-socket,env,displayfd,supervisor.pid,config}
mkdir -p "$STATE/xdg"

# --- password ---------------------------------------------------------------
if [[ -n $PASSWORD_FILE ]]; then
  [[ -r $PASSWORD_FILE ]] || kiosk_die "password file '$PASSWORD_FILE' is not readable"
  size=$(stat -c %s -- "$PASSWORD_FILE")
  [[ $size == 8 || $size == 16 ]] ||
    kiosk_die "password file '$PASSWORD_FILE' is $size bytes; expected 8 or 16 (make it with: vncpasswd -f > FILE)"
  mode=$(stat -c %a -- "$PASSWORD_FILE")
  [[ $mode =~ [0-7]00$ ]] || kiosk_die "password file '$PASSWORD_FILE' has mode $mode; it must be readable by its owner only (chmod 600)"
  K_PASSFILE=$(cd -- "$(dirname -- "$PASSWORD_FILE")" && pwd)/$(basename -- "$PASSWORD_FILE")
else
  full=${KIOSK_PASSWORD:-}
  view=${KIOSK_VIEW_PASSWORD:-}
  if ((PASSWORD_STDIN)); then
    IFS= read -r full || true
    IFS= read -r view || true
  fi
  [[ -n $full ]] || kiosk_die "no VNC password: give --password-file FILE, --password-stdin, or KIOSK_PASSWORD"
  need_bin vncpasswd tigervnc-tools "to create the password file"
  ((${#full} <= 8)) || kiosk_log "warning: VncAuth uses only the first 8 characters of the password"
  if [[ -n $view ]]; then
    printf '%s\n%s\n' "$full" "$view" | vncpasswd -f >"$STATE/passwd"
  else
    printf '%s\n' "$full" | vncpasswd -f >"$STATE/passwd"
  fi
  chmod 600 "$STATE/passwd"
  K_PASSFILE=$STATE/passwd
  unset full view
fi
# Applications must never see the VNC password.
unset KIOSK_PASSWORD KIOSK_VIEW_PASSWORD

# --- X authority: a random MIT-MAGIC-COOKIE-1 for any display (family Wild,
# empty display number), so no other local user can open the kiosk's display.
{
  printf '\377\377\000\000\000\000\000\022MIT-MAGIC-COOKIE-1\000\020'
  head -c 16 /dev/urandom
} >"$STATE/Xauthority"

# --- openbox configuration ----------------------------------------------------
cp -f -- "$HERE/openbox-menu.xml" "$STATE/openbox-menu.xml"
menu_escaped=$(printf '%s' "$STATE/openbox-menu.xml" | sed 's/[&|\\]/\\&/g; s/</\&lt;/g; s/>/\&gt;/g')
sed "s|@MENU_FILE@|$menu_escaped|" "$HERE/openbox-rc.xml" >"$STATE/openbox-rc.xml"
cp -f -- "$APPS_FILE" "$STATE/apps"

# declare -g: the supervisor sources this inside a function.
declare -p K_GEOMETRY K_DEPTH K_DISPLAY K_PORT K_UNIX K_NAME K_PASSFILE \
  K_NO_BLACKLIST K_ALLOW_RESIZE K_NO_CLIPBOARD K_XVNC_EXTRA K_EXIT_WITH K_EXIT_WITH_START |
  sed 's/^declare -\([a-zA-Z-]*\) /declare -g\1 /; s/^declare -g- /declare -g /' >"$STATE/config"

if ((FOREGROUND)); then
  exec "$BASH" "$HERE/start-kiosk.sh" --_supervise "$STATE"
fi

# --- launch the supervisor in its own session and wait for readiness --------
setsid "$BASH" "$HERE/start-kiosk.sh" --_supervise "$STATE" </dev/null >>"$STATE/supervisor.log" 2>&1 &
launcher=$!

deadline=$((SECONDS + TIMEOUT))
while :; do
  if [[ -f $STATE/ready ]]; then break; fi
  if [[ -f $STATE/failed ]]; then
    wait "$launcher" 2>/dev/null || true
    kiosk_die "kiosk failed to start: $(cat "$STATE/failed")"
  fi
  if ! kill -0 "$launcher" 2>/dev/null && [[ ! -f $STATE/ready ]]; then
    kiosk_die "kiosk supervisor exited during start (see $STATE/supervisor.log)"
  fi
  if ((SECONDS >= deadline)); then
    "$HERE/stop-kiosk.sh" --state-dir "$STATE" >/dev/null 2>&1 || true
    kiosk_die "kiosk not ready within ${TIMEOUT}s (see $STATE/*.log)"
  fi
  sleep 0.05
done

# shellcheck source=/dev/null
. "$STATE/env"
printf 'kiosk ready: display %s, rfb %s, state %s\n' "$KIOSK_DISPLAY" \
  "$([[ $KIOSK_RFB_PORT == none ]] && echo "unix:$KIOSK_UNIX_SOCKET" || echo "$KIOSK_RFB_HOST:$KIOSK_RFB_PORT${KIOSK_UNIX_SOCKET:+ and unix:$KIOSK_UNIX_SOCKET}")" \
  "$STATE"
printf 'stop with: %s --state-dir %q\n' "$HERE/stop-kiosk.sh" "$STATE"
