# shellcheck shell=bash
# Helpers shared by start-kiosk.sh and stop-kiosk.sh (sourced, never run).
#
# The one idea here: a PID alone is not an identity (PIDs are reused), so the
# kiosk records "pid starttime" pairs, where starttime is field 22 of
# /proc/PID/stat (clock ticks since boot), and only ever signals a PID whose
# start time still matches what was recorded.

kiosk_die() {
  printf '%s: error: %s\n' "${KIOSK_PROG:-kiosk}" "$*" >&2
  exit 1
}

kiosk_log() {
  printf '%s %s: %s\n' "$(date '+%Y-%m-%dT%H:%M:%S')" "${KIOSK_PROG:-kiosk}" "$*" >&2
}

# proc_start PID -> prints the process start time, fails if PID is gone.
proc_start() {
  local stat rest
  local -a f
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  # The command name (field 2) may contain spaces and ')'; cut after the last ')'.
  rest=${stat##*) }
  read -r -a f <<<"$rest"
  # f[0] is field 3 (state): field 22 (starttime) is f[19]; a zombie is as good as gone.
  [[ ${f[0]} != Z ]] || return 1
  printf '%s\n' "${f[19]}"
}

# proc_pgid PID -> prints the process group id.
proc_pgid() {
  local stat rest
  local -a f
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  rest=${stat##*) }
  read -r -a f <<<"$rest"
  printf '%s\n' "${f[2]}"
}

# same_process PID STARTTIME -> true if PID is alive and is the recorded process.
same_process() {
  local now
  [[ $1 =~ ^[0-9]+$ ]] || return 1
  now=$(proc_start "$1") || return 1
  [[ $now == "$2" ]]
}

# need_bin BINARY DEBIAN-PACKAGE [why]
need_bin() {
  command -v "$1" >/dev/null 2>&1 && return 0
  kiosk_die "'$1' not found${3:+ ($3)}: install the Debian package '$2' (apt-get install --no-install-recommends $2), or run 'bash .ci/install-deps' in the Beamgate repository"
}
