#!/bin/sh
# arca-net helper: starts Open vSwitch (userspace, netdev datapath) and OVN
# (NB/SB databases, northd, ovn-controller) with every path relocatable, then
# runs and supervises the NetworkControl controller. The same script runs in the helper VM
# image (Alpine) and in the lab / tests (Debian, one network namespace each).
#
# Usage: startup.sh [run|start|stop|status]
#   run    (default) start everything, then run the controller and supervise it
#          and the daemons (restart with backoff; see "supervision" below)
#   start  start OVS and OVN only and return (tests run the controller themselves)
#   stop   stop what `run`/`start` started (pidfiles in $ARCA_HELPER_RUN), supervisor
#          first, then the controller
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
#   ARCA_EXTERNAL_RANGE     optional: the part of ARCA_EXTERNAL_CIDR this helper hands out
#                           (a cluster whose helpers share one external network gives each
#                           its own; arca-fwd0 takes its last host address) [all of it]
#                           (all three reach the controller through the environment)
#   ARCA_CONTROLLER_CMD     controller command (gets --listen and the ARCA_* DB variables)
#                           [node <repo>/packages/controller/dist/main.js, else arca-net-controller]
#   OVS_SCHEMA, OVN_NB_SCHEMA, OVN_SB_SCHEMA  schema files [/usr/share/openvswitch, /usr/share/ovn]
#   Cluster of hosts (docs/cluster.md; unset = one host, central and chassis in this helper, no underlay):
#   ARCA_HELPER_ROLE        central (NB/SB/northd, also listening on the underlay address) or chassis
#                           (no databases here: joins the central at ARCA_HELPER_CENTRAL)
#   ARCA_HELPER_UNDERLAY    the underlay NIC; it becomes a port of the netdev bridge br-phy
#   ARCA_HELPER_UNDERLAY_IP its address with prefix, e.g. 192.0.2.1/24 (moved onto br-phy; Geneve encap IP)
#   ARCA_HELPER_CENTRAL     chassis: the central's underlay address (OVSDB tcp 6641/6642)
#   ARCA_HELPER_PEERS       optional "IP,MAC IP,MAC": other helpers' underlay addresses, seeded into
#                           tnl/arp so the first tunnelled packet is not lost
#   ARCA_OVS_USERSPACE_TSO  true: OVS runs with other_config:userspace-tso-enable (64 KiB
#                           segments through the userspace datapath, what offload-mode
#                           attachments need); false: off, and attachments stay plain [true]
set -eu
# Databases, logs, pidfiles and sockets are root's only (files 0600, directories 0700).
umask 077

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
# Where ovn-controller, the CLIs and the controller find the OVN databases, and the
# Geneve encap address: this helper's own for one host (cluster_init changes them).
NB_REMOTE=unix:$NB_SOCK
SB_REMOTE=unix:$SB_SOCK
ENCAP_IP=127.0.0.1

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

# start_ovsdb NAME DBFILE SOCKET [EXTRA-REMOTE]
start_ovsdb() {
  pid_alive "$1" && { log "$1 already running"; return 0; }
  ovsdb-server "$2" --remote="punix:$3" ${4:+--remote="$4"} --pidfile="$RUN/$1.pid" --unixctl="$RUN/$1.ctl" \
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
  bits=${ARCA_EXTERNAL_CIDR#*/}
  # With ARCA_EXTERNAL_RANGE: the last host address of the range (cluster helpers share the network).
  pool=${ARCA_EXTERNAL_RANGE:-$ARCA_EXTERNAL_CIDR}
  net=$(ip_to_int "${pool%/*}")
  pool_bits=${pool#*/}
  if [ "$pool_bits" -ge 30 ]; then
    vsctl --if-exists del-port br-ex arca-fwd0
    return 0
  fi
  size=$(( 1 << (32 - pool_bits) ))
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

# --- image: a restarted container (docker restart, restart policy `always`) keeps
# $RUN from its earlier boot, but as the container's init (pid 1) nothing from
# that boot can still run: its pidfiles would only name unrelated new processes.
# Once per boot: a later start_all (restarting one daemon) keeps the new pidfiles.
forget_earlier_boot() {
  [ "$$" = 1 ] && [ -z "${earlier_boot_forgotten:-}" ] || return 0
  earlier_boot_forgotten=1
  for pidfile in "$RUN"/*.pid; do
    [ -e "$pidfile" ] || continue
    rm -f "$pidfile"
    log "removed $pidfile of an earlier boot"
  done
}
# --- end image

# ---------------------------------------------------------------------------
# Cluster roles (ARCA_HELPER_ROLE): helpers of several hosts are chassis of one
# OVN deployment, joined by an underlay carrying Geneve (UDP 6081) and OVSDB
# (TCP 6641/6642 to the central). Userspace tunnelling needs the underlay
# address on an OVS bridge: the NIC becomes a port of the netdev bridge br-phy
# (br-phy keeps the NIC's MAC, pinned), the address moves onto br-phy, and the
# NIC stops answering ARP itself (else the kernel answers with the NIC's MAC and
# OVSDB traffic bypasses br-phy). ovs-vswitchd takes the route to each peer from
# this namespace's kernel. Without a role nothing here runs.
# ---------------------------------------------------------------------------
ROLE=${ARCA_HELPER_ROLE:-}
UNDERLAY=${ARCA_HELPER_UNDERLAY:-}
UNDERLAY_IP=${ARCA_HELPER_UNDERLAY_IP:-}
CENTRAL=${ARCA_HELPER_CENTRAL:-}
# A chassis runs no databases and no northd: the central does.
[ "$ROLE" != chassis ] || DAEMONS="ovsdb-server-ovs ovs-vswitchd ovn-controller"

# Checks the role's variables and points the remotes at the central.
cluster_init() {
  [ -n "$ROLE" ] || return 0
  case $ROLE in central | chassis) ;; *) die "ARCA_HELPER_ROLE=$ROLE: expected central or chassis" ;; esac
  [ -n "$UNDERLAY" ] && [ -n "$UNDERLAY_IP" ] ||
    die "ARCA_HELPER_ROLE=$ROLE needs ARCA_HELPER_UNDERLAY and ARCA_HELPER_UNDERLAY_IP (address/prefix)"
  [ -e "/sys/class/net/$UNDERLAY" ] || die "underlay interface $UNDERLAY does not exist"
  ENCAP_IP=${UNDERLAY_IP%/*}
  if [ "$ROLE" = chassis ]; then
    [ -n "$CENTRAL" ] || die "ARCA_HELPER_ROLE=chassis needs ARCA_HELPER_CENTRAL (the central's underlay address)"
    NB_REMOTE=tcp:$CENTRAL:6641
    SB_REMOTE=tcp:$CENTRAL:6642
  else
    CENTRAL=$ENCAP_IP
  fi
  export ARCA_OVN_NB_DB=$NB_REMOTE ARCA_OVN_SB_DB=$SB_REMOTE
}

# Before ovs-vswitchd starts: the chassis' identity and encapsulation.
cluster_chassis_config() {
  [ -n "$ROLE" ] || return 0
  vsctl --no-wait set Open_vSwitch . \
    external_ids:system-id="$system_id" \
    external_ids:ovn-remote="$SB_REMOTE" \
    external_ids:ovn-encap-type=geneve \
    external_ids:ovn-encap-ip="$ENCAP_IP" \
    external_ids:ovn-bridge-datapath-type=netdev
}

# After ovs-vswitchd: br-phy with the NIC, the address on br-phy, ARP seeds.
cluster_underlay() {
  [ -n "$ROLE" ] || return 0
  mac=$(cat "/sys/class/net/$UNDERLAY/address")
  if [ -w "/proc/sys/net/ipv6/conf/$UNDERLAY/disable_ipv6" ]; then
    echo 1 >"/proc/sys/net/ipv6/conf/$UNDERLAY/disable_ipv6"
  fi
  ip addr flush dev "$UNDERLAY"
  ip link set "$UNDERLAY" arp off up
  ethtool -K "$UNDERLAY" tx off >/dev/null 2>&1 || true
  vsctl --may-exist add-br br-phy \
    -- set Bridge br-phy datapath_type=netdev other_config:hwaddr="\"$mac\"" \
    other_config:disable-in-band=true \
    -- --may-exist add-port br-phy "$UNDERLAY"
  wait_for "br-phy" test -e /sys/class/net/br-phy
  if [ -w /proc/sys/net/ipv6/conf/br-phy/disable_ipv6 ]; then
    echo 1 >/proc/sys/net/ipv6/conf/br-phy/disable_ipv6
  fi
  ethtool -K br-phy tx off >/dev/null 2>&1 || true
  ip addr replace "$UNDERLAY_IP" dev br-phy
  ip link set br-phy up
  for peer in ${ARCA_HELPER_PEERS:-}; do
    ovs-appctl -t "$RUN/ovs-vswitchd.ctl" tnl/arp/set br-phy "${peer%,*}" "${peer#*,}" >/dev/null
  done
  log "underlay $UNDERLAY on br-phy ($UNDERLAY_IP, $mac); role $ROLE, central $CENTRAL"
}

# The central's databases also listen on the underlay address (br-phy has it by now).
cluster_db_remote() {
  [ "$ROLE" = central ] && echo "ptcp:$1:$ENCAP_IP" || true
}

# A chassis waits for the central's databases instead of starting its own.
cluster_wait_central() {
  wait_for "central NB $NB_REMOTE" ovn-nbctl --db="$NB_REMOTE" --timeout=2 --no-leader-only show
  wait_for "central SB $SB_REMOTE" ovn-sbctl --db="$SB_REMOTE" --timeout=2 --no-leader-only show
}
# --------------------------- end of cluster roles ---------------------------
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
# --- readiness of this chassis (not of the whole cluster) ----------------------
# `ovn-nbctl --wait=hv` waits until every chassis registered in the SB has
# caught up, so one dead chassis of a cluster (its Chassis row stays until it
# is deleted) would stall every other helper's start. Instead: northd has the
# NB's change (--wait=sb), then this chassis's own Chassis_Private.nb_cfg
# reaches that NB sequence number (what --wait=hv checks, for one chassis).
wait_own_chassis() {
  wait_for "ovn-northd caught up" ovn-nbctl --db="$NB_REMOTE" --timeout=5 --wait=sb sync
  own_cfg=$(ovn-nbctl --db="$NB_REMOTE" --timeout=5 get NB_Global . nb_cfg) ||
    die "cannot read NB_Global nb_cfg from $NB_REMOTE"
  wait_for "OVN pipeline" own_chassis_at "$1" "$own_cfg"
}
# own_chassis_at SYSTEM-ID CFG: the chassis has processed NB sequence number CFG.
own_chassis_at() {
  have=$(ovn-sbctl --db="$SB_REMOTE" --timeout=2 --bare --columns=nb_cfg find Chassis_Private name="$1") &&
    [ -n "$have" ] && [ "$have" -ge "$2" ]
}
# ------------------------------------------------------------------------------

start_all() {
  check_uplink_env
  cluster_init
  mkdir -p "$STATE" "$RUN" "$LOG"
  forget_earlier_boot
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
  cluster_chassis_config
  configure_userspace_tso

  if ! pid_alive ovs-vswitchd; then
    ovs-vswitchd "unix:$OVS_SOCK" --pidfile="$RUN/ovs-vswitchd.pid" \
      --unixctl="$RUN/ovs-vswitchd.ctl" --log-file="$LOG/ovs-vswitchd.log" --detach --no-chdir
  fi
  wait_for ovs-vswitchd ovs-appctl -t "$RUN/ovs-vswitchd.ctl" version
  cluster_underlay

  if [ "$ROLE" = chassis ]; then
    cluster_wait_central
  else
  start_ovsdb ovsdb-server-nb "$STATE/ovnnb_db.db" "$NB_SOCK" "$(cluster_db_remote 6641)"
  start_ovsdb ovsdb-server-sb "$STATE/ovnsb_db.db" "$SB_SOCK" "$(cluster_db_remote 6642)"
  ovn-nbctl --db="unix:$NB_SOCK" --timeout="$TIMEOUT" --no-leader-only init
  ovn-sbctl --db="unix:$SB_SOCK" --timeout="$TIMEOUT" --no-leader-only init

  if ! pid_alive ovn-northd; then
    ovn-northd --ovnnb-db="unix:$NB_SOCK" --ovnsb-db="unix:$SB_SOCK" \
      --pidfile="$RUN/ovn-northd.pid" --unixctl="$RUN/ovn-northd.ctl" \
      --log-file="$LOG/ovn-northd.log" --detach --no-chdir
  fi
  wait_for ovn-northd sh -c "ovs-appctl -t '$RUN/ovn-northd.ctl' status | grep -q active"
  fi

  # The chassis: br-int in userspace, geneve on loopback, SB over its Unix socket.
  # Without --no-wait, ovs-vsctl returns once ovs-vswitchd has applied the change.
  vsctl set Open_vSwitch . \
    external_ids:system-id="$system_id" \
    external_ids:hostname="$system_id" \
    external_ids:ovn-encap-type=geneve \
    external_ids:ovn-encap-ip="$ENCAP_IP" \
    external_ids:ovn-remote="$SB_REMOTE" \
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
    ovn-sbctl --db="$SB_REMOTE" --timeout=2 --bare --columns=name find Chassis name="$system_id"
  # northd and this chassis's ovn-controller have both caught up with the NB database.
  wait_own_chassis "$system_id"
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
  stop_supervisor
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

# --- supervision (`run`) ----------------------------------------------------
# `run` stays in the foreground as a supervisor (pid in $RUN/supervisor.pid):
# it starts the controller as its child and checks it and every OVS/OVN daemon
# that start_all started every $SV_TICK_MS ms. A process that is gone is
# restarted (the controller directly, a daemon by start_all again, which starts
# only what is not running and waits for readiness), each restart logged, with
# an exponential backoff per process: the first restart at once, then 0.5 s,
# 1 s, 2 s, … up to $SV_BACKOFF_MAX_MS; a process that stayed up
# $SV_STABLE_MS ms starts again from an immediate restart. SIGTERM/SIGINT (and
# `startup.sh stop`, which signals the supervisor first) stop everything.
# Only shell built-ins run between checks (time from /proc/uptime), so the
# idle cost is one `sleep` per tick.
#   ARCA_HELPER_SUPERVISE_MS  check interval [200]
#   ARCA_HELPER_BACKOFF_MAX   restart delay cap, seconds [30]
#   ARCA_HELPER_STABLE        seconds up that reset the backoff [30]
#   ARCA_HELPER_LOG_MAX_KB    cap of each log in $ARCA_HELPER_LOG: every ~10 s a
#                             bigger one keeps its last half in <log>.1 and is
#                             truncated in place (the daemons append) [16384]
SV_TICK_MS=${ARCA_HELPER_SUPERVISE_MS:-200}
SV_LOG_MAX=$(( ${ARCA_HELPER_LOG_MAX_KB:-16384} * 1024 ))
SV_BACKOFF_MAX_MS=$(( ${ARCA_HELPER_BACKOFF_MAX:-30} * 1000 ))
SV_STABLE_MS=$(( ${ARCA_HELPER_STABLE:-30} * 1000 ))

# sv_now: milliseconds since boot into SV_NOW (no fork).
sv_now() {
  read -r sv_up _ </proc/uptime
  sv_frac=${sv_up#*.}
  sv_frac=${sv_frac#0}
  SV_NOW=$(( ${sv_up%.*} * 1000 + ${sv_frac:-0} * 10 ))
}

# sv_alive NAME: the pid in $RUN/NAME.pid runs and is not a zombie (no fork).
sv_alive() {
  [ -s "$RUN/$1.pid" ] || return 1
  read -r sv_pid <"$RUN/$1.pid" || return 1
  kill -0 "$sv_pid" 2>/dev/null || return 1
  while read -r sv_key sv_state _; do
    [ "$sv_key" = State: ] || continue
    [ "$sv_state" != Z ]
    return
  done 2>/dev/null <"/proc/$sv_pid/status"
  return 1
}

# sv_sleep_ms N: sleeps N milliseconds.
sv_sleep_ms() { sleep "$(( $1 / 1000 )).$(printf %03d $(( $1 % 1000 )))"; }

# sv_get VAR KEY (into SV_VAL) / sv_set VAR KEY VALUE: per-process counters
# (KEY is an index; no fork).
sv_get() { eval "SV_VAL=\${sv_$1_$2:-0}"; }
sv_set() { eval "sv_$1_$2=\$3"; }

# sv_cap_logs: the size cap of every log file in $LOG (see ARCA_HELPER_LOG_MAX_KB).
sv_cap_logs() {
  for f in "$LOG"/*.log; do
    [ -f "$f" ] || continue
    size=$(wc -c <"$f" 2>/dev/null) || continue
    if [ "$size" -gt "$SV_LOG_MAX" ]; then
      (umask 077 && tail -c $((SV_LOG_MAX / 2)) "$f" >"$f.1") 2>/dev/null || true
      : >"$f"
      log "supervisor: $f was over $SV_LOG_MAX bytes: its last half is in $f.1"
    fi
  done
}

sv_start_controller() {
  cmd=$(controller_cmd)
  log "starting $cmd --listen $LISTEN"
  # shellcheck disable=SC2086 # the command is a word list on purpose
  $cmd --listen "$LISTEN" &
  SV_CONTROLLER_PID=$!
  echo "$SV_CONTROLLER_PID" >"$RUN/controller.pid"
}

# sv_restart INDEX NAME: restarts one process that is gone, or schedules it
# (backoff); returns at once while its delay has not passed.
sv_restart() {
  sv_now
  sv_get due "$1"
  due=$SV_VAL
  if [ "$due" -eq 0 ]; then
    # Just found dead: record it, and schedule the restart.
    if [ "$2" = controller ]; then
      rc=0
      wait "$SV_CONTROLLER_PID" 2>/dev/null || rc=$?
      why="exited (status $rc)"
    else
      why="is gone"
    fi
    sv_get fails "$1"
    fails=$SV_VAL
    sv_get since "$1"
    [ $(( SV_NOW - SV_VAL )) -lt "$SV_STABLE_MS" ] || fails=0
    fails=$((fails + 1))
    sv_set fails "$1" "$fails"
    delay=0
    if [ "$fails" -gt 1 ]; then
      delay=500
      n=2
      while [ "$n" -lt "$fails" ] && [ "$delay" -lt "$SV_BACKOFF_MAX_MS" ]; do
        delay=$((delay * 2))
        n=$((n + 1))
      done
      [ "$delay" -le "$SV_BACKOFF_MAX_MS" ] || delay=$SV_BACKOFF_MAX_MS
    fi
    sv_get restarts "$1"
    total=$(( SV_VAL + 1 ))
    sv_set restarts "$1" "$total"
    echo "$total" >"$RUN/$2.restarts"
    log "supervisor: $2 $why; restart $total (attempt $fails) in $(( delay / 1000 )).$(( delay % 1000 / 100 )) s"
    sv_set due "$1" $(( SV_NOW + delay + 1 ))
    [ "$delay" -eq 0 ] || return 0
  elif [ "$SV_NOW" -lt "$due" ]; then
    return 0
  fi
  sv_set due "$1" 0
  gone=""
  for d in $watched; do sv_alive "$d" || gone="$gone $d"; done
  if [ "$2" = controller ]; then
    sv_start_controller
  elif [ -z "$gone" ]; then
    log "supervisor: $2 runs again"
  elif ( start_all ) >&2; then
    log "supervisor: restarted$gone"
  else
    log "supervisor: restarting $2 failed; trying again"
    sv_set due "$1" 0
    return 0
  fi
  sv_now
  sv_set since "$1" "$SV_NOW"
}

sv_shutdown() {
  trap - TERM INT
  log "supervisor: stopping everything"
  rm -f "$RUN/supervisor.pid"
  stop_all
  exit 0
}

# stop_supervisor: `stop` signals the supervisor first, so nothing restarts
# what stop_all stops (the supervisor then stops everything itself).
stop_supervisor() {
  [ -s "$RUN/supervisor.pid" ] || return 0
  [ "$(cat "$RUN/supervisor.pid")" != "$$" ] || return 0
  stop_one supervisor
}

# supervise: `run` after start_all; never returns (SIGTERM/SIGINT exit 0).
supervise() {
  if sv_alive supervisor; then
    die "a supervisor already runs (pid $(cat "$RUN/supervisor.pid")); use stop first"
  fi
  # A controller left by a supervisor that was killed is not our child: replace it.
  stop_one controller
  echo $$ >"$RUN/supervisor.pid"
  trap sv_shutdown TERM INT
  # Watch what start_all started (roles may start fewer daemons).
  watched=""
  for d in $DAEMONS; do
    if pid_alive "$d"; then watched="$watched $d"; fi
    rm -f "$RUN/$d.restarts"
  done
  rm -f "$RUN/controller.restarts"
  log "supervisor (pid $$): watching controller$watched"
  sv_start_controller
  sv_now
  sv_set since 0 "$SV_NOW"
  i=1
  for d in $watched; do sv_set since "$i" "$SV_NOW"; i=$((i + 1)); done
  while :; do
    sv_get due 0
    if [ "$SV_VAL" -ne 0 ] || ! sv_alive controller; then sv_restart 0 controller; fi
    i=1
    for d in $watched; do
      sv_get due "$i"
      if [ "$SV_VAL" -ne 0 ] || ! sv_alive "$d"; then sv_restart "$i" "$d"; fi
      i=$((i + 1))
    done
    sv_ticks=$(( ${sv_ticks:-0} + 1 ))
    if [ $(( sv_ticks * SV_TICK_MS )) -ge 10000 ]; then
      sv_ticks=0
      sv_cap_logs
    fi
    sv_sleep_ms "$SV_TICK_MS"
  done
}
# --- end of supervision -----------------------------------------------------

case ${1:-run} in
  run)
    start_all
    supervise
    ;;
  start) start_all ;;
  stop) stop_all ;;
  status) status_all ;;
  *) die "usage: $0 [run|start|stop|status]" ;;
esac
