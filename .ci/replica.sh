#!/usr/bin/env bash
# A small PostgreSQL streaming replica of the machine's primary, for the replica read tests.
#
#   .ci/replica.sh start    make it (pg_basebackup -R) if missing, start it, wait until it streams
#   .ci/replica.sh stop     stop it (the data stays; `start` resumes streaming)
#   .ci/replica.sh drop     stop it and delete it
#   .ci/replica.sh status   is it up, in recovery and streaming?
#
# It is a Debian cluster (pg_createcluster) named $REPLICA_CLUSTER on port $REPLICA_PORT, kept small
# (16 MB of shared buffers, small work memory) because the machine is shared. It streams without a
# replication slot on purpose: a slot would make the shared primary keep WAL for a replica nobody runs.
# Needs root (it edits the primary's pg_hba.conf once: a trusted replication line for 127.0.0.1).
set -euo pipefail

PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-root}
REPLICA_PORT=${REPLICA_PORT:-5433}
REPLICA_CLUSTER=${REPLICA_CLUSTER:-replica}

primary_line=$(pg_lsclusters -h | awk -v port="$PG_PORT" '$3 == port {print $1, $2}' | head -1)
[ -n "$primary_line" ] || { echo "replica.sh: no local cluster on port $PG_PORT" >&2; exit 1; }
read -r VERSION PRIMARY <<<"$primary_line"
DATA="/var/lib/postgresql/$VERSION/$REPLICA_CLUSTER"
CONF="/etc/postgresql/$VERSION/$REPLICA_CLUSTER"

ready() { pg_isready -q -h "$PG_HOST" -p "$REPLICA_PORT"; }
on_replica() { psql -X -At -h "$PG_HOST" -p "$REPLICA_PORT" -U "$PG_USER" -d postgres -c "$1"; }

allow_replication() {
  local hba="/etc/postgresql/$VERSION/$PRIMARY/pg_hba.conf"
  if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$hba"; then
    echo "host replication all 127.0.0.1/32 trust  # added by SRS .ci/replica.sh" >>"$hba"
    psql -X -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -c "SELECT pg_reload_conf()" >/dev/null
  fi
}

create() {
  allow_replication
  echo "replica.sh: creating cluster $VERSION/$REPLICA_CLUSTER on port $REPLICA_PORT from $PG_HOST:$PG_PORT"
  pg_createcluster "$VERSION" "$REPLICA_CLUSTER" -p "$REPLICA_PORT" >/dev/null
  cat >"$CONF/conf.d/srs-replica.conf" <<CONFEOF
# A small hot standby for SRS's replica tests (see .ci/replica.sh).
shared_buffers = 16MB
# max_connections, max_wal_senders, max_worker_processes ... stay as on the primary: a standby
# refuses to replay with lower ones.
work_mem = 2MB
maintenance_work_mem = 16MB
hot_standby = on
# A long read on the standby is cancelled rather than holding back replay for long.
max_standby_streaming_delay = 5s
CONFEOF
  # The same access rules as the primary (trust on the machine), so the same URLs work on both.
  cp "/etc/postgresql/$VERSION/$PRIMARY/pg_hba.conf" "$CONF/pg_hba.conf"
  rm -rf "$DATA"
  install -d -o postgres -g postgres -m 700 "$DATA"
  # -R writes standby.signal and primary_conninfo: the copy starts as a streaming standby.
  su postgres -c "pg_basebackup -h $PG_HOST -p $PG_PORT -U $PG_USER -D $DATA -R -X stream -c fast"
}

streaming() {
  for _ in $(seq 1 120); do
    if ready && [ "$(on_replica "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null)" = streaming ]; then
      return 0
    fi
    sleep 0.5
  done
  return 1
}

start() {
  [ -d "$DATA" ] && [ -f "$DATA/standby.signal" ] || { pg_dropcluster --stop "$VERSION" "$REPLICA_CLUSTER" 2>/dev/null || true; create; }
  ready || pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$REPLICA_CLUSTER" start || true
  if ! streaming; then
    # Stopped for long, the replica may need WAL the primary has since recycled (there is no slot):
    # make it again from a fresh base backup.
    echo "replica.sh: the replica does not stream; making it again"
    pg_dropcluster --stop "$VERSION" "$REPLICA_CLUSTER"
    create
    pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$REPLICA_CLUSTER" start
    streaming || { echo "replica.sh: the replica on port $REPLICA_PORT does not stream" >&2; exit 1; }
  fi
  # A test run that died with replay paused (tests/core/test_replica.py pauses it) leaves it so.
  on_replica "SELECT pg_wal_replay_resume()" >/dev/null
  echo "replica.sh: $VERSION/$REPLICA_CLUSTER on port $REPLICA_PORT is streaming"
}

case "${1:-start}" in
  start) start ;;
  stop) pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$REPLICA_CLUSTER" stop -m fast 2>/dev/null || true ;;
  drop) pg_dropcluster --stop "$VERSION" "$REPLICA_CLUSTER" ;;
  status)
    ready || { echo "down"; exit 1; }
    on_replica "SELECT 'in recovery: ' || pg_is_in_recovery() || ', receiver: ' || coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')"
    ;;
  *) echo "usage: $0 start|stop|drop|status" >&2; exit 2 ;;
esac
