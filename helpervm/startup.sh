#!/bin/sh
# arca-net helper: starts Open vSwitch (userspace, netdev datapath) and OVN
# (NB/SB databases, northd, ovn-controller) with every path relocatable, then
# execs the NetworkControl controller. The same script runs in the helper VM
# image (Alpine) and in the lab / tests (Debian, one network namespace each).
#
# Usage: startup.sh [run|start|stop|status]
#   run    (default) start everything, then exec the controller
#   start  start OVS and OVN only and return (tests run the controller themselves)
#   stop   stop what `run`/`start` started (pidfiles in $ARCA_HELPER_RUN), controller first
#   status print each daemon's state; exit 1 if one is not running
#
# Environment (defaults in brackets):
#   ARCA_HELPER_STATE       persistent databases and system-id [/var/lib/arca-net-helper]
#   ARCA_HELPER_RUN         sockets, pidfiles, control sockets, logs [/run/arca-net-helper]
#   ARCA_HELPER_LOG         log files [$ARCA_HELPER_RUN/log]
#   ARCA_HELPER_SYSTEM_ID   OVN chassis name [generated once, kept in $ARCA_HELPER_STATE/system-id]
#   ARCA_HELPER_TIMEOUT     seconds each readiness check may take [30]
#   ARCA_CONTROLLER_LISTEN  vsock[:PORT] or unixdir:/dir [vsock:9999]
#   ARCA_HELPER_UPLINK      interface to the outside world, made a port of the OVS
#                           bridge br-ex (OVN's localnet network "external") [none:
#                           no uplink, networks reach nothing outside themselves]
#   ARCA_EXTERNAL_CIDR      with an uplink: the outside network, e.g. 198.51.100.0/24
#   ARCA_EXTERNAL_GATEWAY   with an uplink: its next hop, e.g. 198.51.100.1
#                           (both reach the controller through the environment)
#   ARCA_CONTROLLER_CMD     controller command (gets --listen and the ARCA_* DB variables)
#                           [node <repo>/packages/controller/dist/main.js, else arca-net-controller]
#   OVS_SCHEMA, OVN_NB_SCHEMA, OVN_SB_SCHEMA  schema files [/usr/share/openvswitch, /usr/share/ovn]
#   ARCA_OVS_USERSPACE_TSO  true: OVS runs with other_config:userspace-tso-enable (64 KiB
#                           segments through the userspace datapath, what offload-mode
#                           attachments need); false: off, and attachments stay plain [true]
set -eu

STATE=${ARCA_HELPER_STATE:-/var/lib/arca-net-helper}
RUN=${ARCA_HELPER_RUN:-/run/arca-net-helper}
LOG=${ARCA_HELPER_LOG:-$RUN/log}
TIMEOUT=${ARCA_HELPER_TIMEOUT:-30}
LISTEN=${ARCA_CONTROLLER_LISTEN:-vsock:9999}
OVS_SCHEMA=${OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}
OVN_NB_SCHEMA=${OVN_NB_SCHEMA:-/usr/share/ovn/ovn-nb.ovsschema}
OVN_SB_SCHEMA=${OVN_SB_SCHEMA:-/usr/share/ovn/ovn-sb.ovsschema}
UPLINK=${ARCA_HELPER_UPLINK:-}
PATH=$PATH:/usr/sbin:/sbin:/usr/share/openvswitch/scripts

OVS_SOCK=$RUN/ovs.sock
NB_SOCK=$RUN/ovnnb_db.sock
SB_SOCK=$RUN/ovnsb_db.sock

# Every OVS/OVN daemon and CLI resolves its default files from these, so
# nothing falls back to the system-wide /var/run/openvswitch.
export OVS_RUNDIR=$RUN OVS_DBDIR=$STATE OVS_LOGDIR=$LOG OVS_SYSCONFDIR=$STATE
export OVN_RUNDIR=$RUN OVN_DBDIR=$STATE OVN_LOGDIR=$LOG OVN_SYSCONFDIR=$STATE
export ARCA_OVS_DB=unix:$OVS_SOCK ARCA_OVN_NB_DB=unix:$NB_SOCK ARCA_OVN_SB_DB=unix:$SB_SOCK
export ARCA_OVS_RUNDIR=$RUN

# Daemons in start order; `stop` walks it backwards.
DAEMONS="ovsdb-server-ovs ovs-vswitchd ovsdb-server-nb ovsdb-server-sb ovn-northd ovn-controller"

log() { printf '%s startup.sh: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# wait_for DESCRIPTION COMMAND...: retries COMMAND every 0.1 s until it
# succeeds or $TIMEOUT seconds pass (a bounded readiness check, not a sleep).
wait_for() {
  what=$1; shift
  tries=$((TIMEOUT * 10))
  while ! "$@" >/dev/null 2>&1; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || die "$what not ready after ${TIMEOUT}s (command: $*; logs in $LOG)"
    sleep 0.1
  done
  log "$what ready"
}

# alive PID: the process exists and is not a zombie (an init that reaps
# slowly keeps exited daemons around as zombies for a while).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}
pid_alive() { [ -s "$RUN/$1.pid" ] && alive "$(cat "$RUN/$1.pid")"; }

# ensure_db FILE SCHEMA: creates the database, or upgrades it to the installed schema.
ensure_db() {
  if [ ! -s "$1" ]; then
    ovsdb-tool create "$1" "$2"
    log "created $1"
  elif [ "$(ovsdb-tool needs-conversion "$1" "$2")" = yes ]; then
    ovsdb-tool convert "$1" "$2"
    log "converted $1 to $(ovsdb-tool schema-version "$2")"
  fi
}

# start_ovsdb NAME DBFILE SOCKET
start_ovsdb() {
  pid_alive "$1" && { log "$1 already running"; return 0; }
  ovsdb-server "$2" --remote="punix:$3" --pidfile="$RUN/$1.pid" --unixctl="$RUN/$1.ctl" \
    --log-file="$LOG/$1.log" --detach --no-chdir
  wait_for "$1" ovsdb-client --timeout=2 list-dbs "unix:$3"
}

vsctl() { ovs-vsctl --db="unix:$OVS_SOCK" --timeout="$TIMEOUT" "$@"; }

# The uplink needs the external network's numbers, and they need the uplink.
check_uplink_env() {
  if [ -n "$UPLINK" ]; then
    [ -n "${ARCA_EXTERNAL_CIDR:-}" ] && [ -n "${ARCA_EXTERNAL_GATEWAY:-}" ] ||
      die "ARCA_HELPER_UPLINK=$UPLINK needs ARCA_EXTERNAL_CIDR and ARCA_EXTERNAL_GATEWAY"
    [ -e "/sys/class/net/$UPLINK" ] || die "uplink interface $UPLINK does not exist"
  elif [ -n "${ARCA_EXTERNAL_CIDR:-}${ARCA_EXTERNAL_GATEWAY:-}" ]; then
    die "ARCA_EXTERNAL_CIDR / ARCA_EXTERNAL_GATEWAY need an uplink: set ARCA_HELPER_UPLINK"
  fi
}

# br-ex: the uplink as a port of a userspace bridge that OVN's localnet port
# "external" reaches (ovn-controller adds the patch ports). Without an uplink,
# whatever an earlier run with one left in the database goes.
setup_uplink() {
  if [ -z "$UPLINK" ]; then
    vsctl --if-exists del-br br-ex \
      -- --if-exists remove Open_vSwitch . external_ids ovn-bridge-mappings
    return 0
  fi
  # The helper's own kernel stays silent on the uplink (no IPv6 autoconfiguration).
  if [ -w "/proc/sys/net/ipv6/conf/$UPLINK/disable_ipv6" ]; then
    echo 1 >"/proc/sys/net/ipv6/conf/$UPLINK/disable_ipv6"
  fi
  ip link set "$UPLINK" up
  vsctl --may-exist add-br br-ex \
    -- set Bridge br-ex datapath_type=netdev other_config:disable-in-band=true \
    -- --may-exist add-port br-ex "$UPLINK" \
    -- set Open_vSwitch . external_ids:ovn-bridge-mappings=external:br-ex
  log "uplink $UPLINK on br-ex (OVN network external: ${ARCA_EXTERNAL_CIDR} via ${ARCA_EXTERNAL_GATEWAY})"
  setup_forward_port
}

# ip_to_int A.B.C.D / int_to_ip N: IPv4 arithmetic for the forward address.
ip_to_int() {
  old_ifs=$IFS; IFS=.; set -- $1; IFS=$old_ifs
  echo $(( ($1 << 24) | ($2 << 16) | ($3 << 8) | $4 ))
}
int_to_ip() { echo "$(( ($1 >> 24) & 255 )).$(( ($1 >> 16) & 255 )).$(( ($1 >> 8) & 255 )).$(( $1 & 255 ))"; }

# arca-fwd0: an internal port of br-ex holding the last host address of the
# external network (the one before it when that is the gateway; the
# controller never gives it to a network; a /30 has no address to spare). The controller's published-port
# forwarder (vsock 9998) connects from it to the networks' external
# addresses, the way the outside world reaches published ports.
setup_forward_port() {
  net=$(ip_to_int "${ARCA_EXTERNAL_CIDR%/*}")
  bits=${ARCA_EXTERNAL_CIDR#*/}
  if [ "$bits" -ge 30 ]; then
    vsctl --if-exists del-port br-ex arca-fwd0
    return 0
  fi
  size=$(( 1 << (32 - bits) ))
  last=$(( (net & ~(size - 1) & 0xffffffff) + size - 2 ))
  [ "$last" -ne "$(ip_to_int "$ARCA_EXTERNAL_GATEWAY")" ] || last=$((last - 1))
  addr=$(int_to_ip "$last")
  vsctl --may-exist add-port br-ex arca-fwd0 -- set Interface arca-fwd0 type=internal
  wait_for "arca-fwd0" test -e /sys/class/net/arca-fwd0
  if [ -w /proc/sys/net/ipv6/conf/arca-fwd0/disable_ipv6 ]; then
    echo 1 >/proc/sys/net/ipv6/conf/arca-fwd0/disable_ipv6
  fi
  ethtool -K arca-fwd0 tx off >/dev/null 2>&1 || true
  ip addr replace "$addr/$bits" dev arca-fwd0
  ip link set arca-fwd0 up
  log "published-port forwarder address $addr/$bits on arca-fwd0"
}

# --- offload: userspace TSO --------------------------------------------------
# ovs-vswitchd reads userspace-tso-enable only when it starts, so this runs
# between `init` and the daemon's start. The controller reports the
# "offload" capability only when it finds the key set (GetHealth).
configure_userspace_tso() {
  case "${ARCA_OVS_USERSPACE_TSO:-true}" in
    true | 1 | yes) vsctl --no-wait set Open_vSwitch . other_config:userspace-tso-enable=true ;;
    *) vsctl --no-wait remove Open_vSwitch . other_config userspace-tso-enable ;;
  esac
}
# ------------------------------------------------------------------------------

start_all() {
  check_uplink_env
  mkdir -p "$STATE" "$RUN" "$LOG"
  if [ -n "${ARCA_HELPER_SYSTEM_ID:-}" ]; then
    system_id=$ARCA_HELPER_SYSTEM_ID
  else
    [ -s "$STATE/system-id" ] || cat /proc/sys/kernel/random/uuid >"$STATE/system-id"
    system_id=$(cat "$STATE/system-id")
  fi

  ensure_db "$STATE/conf.db" "$OVS_SCHEMA"
  ensure_db "$STATE/ovnnb_db.db" "$OVN_NB_SCHEMA"
  ensure_db "$STATE/ovnsb_db.db" "$OVN_SB_SCHEMA"

  start_ovsdb ovsdb-server-ovs "$STATE/conf.db" "$OVS_SOCK"
  vsctl --no-wait init
  configure_userspace_tso

  if ! pid_alive ovs-vswitchd; then
    ovs-vswitchd "unix:$OVS_SOCK" --pidfile="$RUN/ovs-vswitchd.pid" \
      --unixctl="$RUN/ovs-vswitchd.ctl" --log-file="$LOG/ovs-vswitchd.log" --detach --no-chdir
  fi
  wait_for ovs-vswitchd ovs-appctl -t "$RUN/ovs-vswitchd.ctl" version

  start_ovsdb ovsdb-server-nb "$STATE/ovnnb_db.db" "$NB_SOCK"
  start_ovsdb ovsdb-server-sb "$STATE/ovnsb_db.db" "$SB_SOCK"
  ovn-nbctl --db="unix:$NB_SOCK" --timeout="$TIMEOUT" --no-leader-only init
  ovn-sbctl --db="unix:$SB_SOCK" --timeout="$TIMEOUT" --no-leader-only init

  if ! pid_alive ovn-northd; then
    ovn-northd --ovnnb-db="unix:$NB_SOCK" --ovnsb-db="unix:$SB_SOCK" \
      --pidfile="$RUN/ovn-northd.pid" --unixctl="$RUN/ovn-northd.ctl" \
      --log-file="$LOG/ovn-northd.log" --detach --no-chdir
  fi
  wait_for ovn-northd sh -c "ovs-appctl -t '$RUN/ovn-northd.ctl' status | grep -q active"

  # The chassis: br-int in userspace, geneve on loopback, SB over its Unix socket.
  # Without --no-wait, ovs-vsctl returns once ovs-vswitchd has applied the change.
  vsctl set Open_vSwitch . \
    external_ids:system-id="$system_id" \
    external_ids:hostname="$system_id" \
    external_ids:ovn-encap-type=geneve \
    external_ids:ovn-encap-ip=127.0.0.1 \
    external_ids:ovn-remote="unix:$SB_SOCK" \
    external_ids:ovn-bridge=br-int \
    external_ids:ovn-bridge-datapath-type=netdev \
    -- --may-exist add-br br-int \
    -- set Bridge br-int datapath_type=netdev fail-mode=secure \
    other_config:disable-in-band=true
  setup_uplink

  if ! pid_alive ovn-controller; then
    # (ovn-controller has no --unixctl: its control socket is $RUN/ovn-controller.<pid>.ctl)
    ovn-controller "unix:$OVS_SOCK" --pidfile="$RUN/ovn-controller.pid" \
      --log-file="$LOG/ovn-controller.log" --detach --no-chdir
  fi
  wait_for "ovn-controller chassis $system_id" \
    ovn-sbctl --db="unix:$SB_SOCK" --timeout=2 --bare --columns=name find Chassis name="$system_id"
  # northd and ovn-controller have both caught up with the NB database.
  wait_for "OVN pipeline" ovn-nbctl --db="unix:$NB_SOCK" --timeout=5 --wait=hv sync
}

stop_one() {
  pidfile=$RUN/$1.pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    tries=$((TIMEOUT * 10))
    while alive "$pid" && [ "$tries" -gt 0 ]; do
      tries=$((tries - 1))
      sleep 0.1
    done
    if alive "$pid"; then
      log "$1 (pid $pid) ignored SIGTERM for ${TIMEOUT}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped $1 (pid $pid)"
  fi
  rm -f "$pidfile"
}

stop_all() {
  stop_one controller
  for d in $(echo "$DAEMONS" | tr ' ' '\n' | sed '1!G;h;$!d'); do
    # ovs-vswitchd: keep the bridges and ports in the database for the next start.
    stop_one "$d"
  done
}

status_all() {
  rc=0
  for d in controller $DAEMONS; do
    if pid_alive "$d"; then echo "$d running (pid $(cat "$RUN/$d.pid"))"; else echo "$d stopped"; rc=1; fi
  done
  return $rc
}

controller_cmd() {
  if [ -n "${ARCA_CONTROLLER_CMD:-}" ]; then
    echo "$ARCA_CONTROLLER_CMD"
    return
  fi
  here=$(cd "$(dirname "$0")" && pwd)
  if [ -f "$here/../packages/controller/dist/main.js" ]; then
    echo "node $here/../packages/controller/dist/main.js"
  else
    echo arca-net-controller
  fi
}

case ${1:-run} in
  run)
    start_all
    echo $$ >"$RUN/controller.pid"
    cmd=$(controller_cmd)
    log "exec $cmd --listen $LISTEN"
    # shellcheck disable=SC2086 # the command is a word list on purpose
    exec $cmd --listen "$LISTEN"
    ;;
  start) start_all ;;
  stop) stop_all ;;
  status) status_all ;;
  *) die "usage: $0 [run|start|stop|status]" ;;
esac
