#!/usr/bin/env bash
# Stops a kiosk started by start-kiosk.sh: exactly the processes recorded in its
# state directory (supervisor, Xtigervnc, openbox, applications), never anything
# found by name. Each PID is checked against its recorded start time first, so
# a reused PID is left alone. Safe to run twice, or on a kiosk that is gone.
set -euo pipefail

KIOSK_PROG='stop-kiosk.sh'
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=kiosk-lib.sh
. "$HERE/kiosk-lib.sh"

usage() {
  cat <<'EOF'
Usage: stop-kiosk.sh [--state-dir DIR] [--timeout SECONDS] [--remove-state]

  --state-dir DIR    KIOSK_STATE_DIR   the directory given to start-kiosk.sh
                                       (default ${XDG_RUNTIME_DIR:-/tmp}/beamgate-kiosk-$UID)
  --timeout SECONDS                    grace period before SIGKILL (default 10)
  --remove-state                       delete the state directory afterwards (logs too)
EOF
}

STATE=${KIOSK_STATE_DIR:-${XDG_RUNTIME_DIR:-/tmp}/beamgate-kiosk-$(id -u)}
TIMEOUT=10
REMOVE=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --state-dir) [[ $# -ge 2 ]] || kiosk_die "--state-dir needs a value"; STATE=$2; shift 2 ;;
    --timeout) [[ $# -ge 2 ]] || kiosk_die "--timeout needs a value"; TIMEOUT=$2; shift 2 ;;
    --remove-state) REMOVE=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) kiosk_die "unknown option '$1' (see --help)" ;;
  esac
done
[[ $TIMEOUT =~ ^[0-9]+$ ]] || kiosk_die "bad --timeout '$TIMEOUT'"

if [[ ! -d $STATE ]]; then
  echo "no kiosk state at $STATE: nothing to stop"
  exit 0
fi

# wait_gone PID START TENTHS -> true once the process is gone
wait_gone() {
  local i
  for ((i = 0; i < $3; i++)); do
    same_process "$1" "$2" || return 0
    sleep 0.1
  done
  ! same_process "$1" "$2"
}

sup_pid='' sup_start=''
if [[ -f $STATE/supervisor.pid ]]; then
  read -r sup_pid sup_start <"$STATE/supervisor.pid" || true
fi

# Read the recorded children before the supervisor removes the list.
declare -a kids=()
if [[ -f $STATE/pids ]]; then
  while read -r role pid start; do
    [[ -n ${start:-} ]] && kids+=("$role $pid $start")
  done <"$STATE/pids"
fi

stopped=0
# 1. Ask the supervisor: it stops apps, then openbox, then Xvnc, in order.
if [[ -n $sup_pid ]] && same_process "$sup_pid" "$sup_start"; then
  kill -TERM "$sup_pid" 2>/dev/null || true
  if ! wait_gone "$sup_pid" "$sup_start" $((TIMEOUT * 10)); then
    echo "supervisor $sup_pid did not stop in ${TIMEOUT}s; killing its process group"
    # It is alive and verified, so its process group is certainly ours.
    if [[ $(proc_pgid "$sup_pid") == "$sup_pid" ]]; then
      kill -KILL -- "-$sup_pid" 2>/dev/null || true
    fi
    kill -KILL "$sup_pid" 2>/dev/null || true
  fi
  stopped=1
fi

# 2. Anything recorded that is still there (supervisor killed, or it died
#    earlier and left orphans): TERM, wait, then KILL, each PID verified.
for entry in "${kids[@]}"; do
  read -r role pid start <<<"$entry"
  same_process "$pid" "$start" || continue
  echo "stopping leftover $role (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  stopped=1
done
for entry in "${kids[@]}"; do
  read -r role pid start <<<"$entry"
  wait_gone "$pid" "$start" $((TIMEOUT * 10)) || kill -KILL "$pid" 2>/dev/null || true
done

# 3. Unrecorded helpers an application forked stay in the supervisor's process
#    group. When the supervisor is gone and its PID is not reused, a process in
#    that group that started after the supervisor can only be one of ours.
if [[ -n $sup_pid && -n $sup_start ]] && ! proc_start "$sup_pid" >/dev/null; then
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [[ $(proc_pgid "$pid" 2>/dev/null) == "$sup_pid" ]] || continue
    start=$(proc_start "$pid") || continue
    ((start >= sup_start)) || continue
    echo "stopping stray process $pid from the kiosk's process group"
    kill -KILL "$pid" 2>/dev/null || true
    stopped=1
  done
fi

# Xvnc removes its own sockets and lock on TERM; after a KILL they stay.
if [[ -f $STATE/display ]]; then
  n=$(tr -dc '0-9' <"$STATE/display")
  if [[ -n $n && -f /tmp/.X$n-lock ]]; then
    lock_pid=$(tr -dc '0-9' <"/tmp/.X$n-lock")
    if [[ -n $lock_pid ]] && ! kill -0 "$lock_pid" 2>/dev/null; then
      rm -f "/tmp/.X$n-lock" "/tmp/.X11-unix/X$n"
    fi
  fi
fi
if [[ -f $STATE/unix-socket ]]; then
  sock=$(head -n 1 "$STATE/unix-socket")
  if [[ -n $sock && $sock == /* && -S $sock ]]; then rm -f -- "$sock"; fi
fi

rm -f -- "$STATE"/{ready,pids,pids.tmp,supervisor.pid}
if ((REMOVE)); then
  rm -rf -- "$STATE"
fi
if ((stopped)); then echo "kiosk stopped ($STATE)"; else echo "kiosk was not running ($STATE)"; fi
