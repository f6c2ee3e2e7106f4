#!/usr/bin/env bash
# A local Hearth cluster from Debian's packages, for tests and for trying it: PostgreSQL (keys, usage), Redis
# (rate-limit windows), N hearth replicas sharing them, and nginx balancing the replicas.
#
#   scripts/cluster.sh up N [MODEL]   start everything (N = 0: PostgreSQL and Redis only); MODEL defaults to
#                                     $HEARTH_SHARED/models/stories260K.gguf
#   scripts/cluster.sh down           stop everything started by `up` in the same CLUSTER_DIR
#   scripts/cluster.sh stop|start postgres|redis
#                                     one service of a running cluster, to see what the replicas do without it
#
# Environment: CLUSTER_DIR (default /tmp/hearth-cluster) holds the data, the logs and cluster.env, which `up`
# writes (URLs, ports, pids and an admin key: ADMIN_KEY); CLUSTER_PORT (default 18400) is the first port:
# PostgreSQL on it, Redis +1, nginx +2, replica i on +10+i.
#
# Packages: postgresql, redis-server, nginx (scripts/install-system-deps.sh installs them). PostgreSQL will not
# run as root, so as root it runs as the postgres user (runuser) with its data under CLUSTER_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${CLUSTER_DIR:-/tmp/hearth-cluster}"
BASE="${CLUSTER_PORT:-18400}"
NODE="$ROOT/node_modules/node/bin/node"
[ -x "$NODE" ] || NODE="$(command -v node)"

die() { echo "cluster: $*" >&2; exit 1; }

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
  done
  return 1
}

# Runs a command as the postgres user when we are root (PostgreSQL refuses root), else as ourselves.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

wait_http() { # URL SECONDS [PID]: until the URL answers 2xx; fails at once if PID dies
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
  return 1
}

start_pg() { # PGBIN DATA PORT
  as_pg "$1/pg_ctl" -D "$2" -l "$DIR/logs/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$3 -c unix_socket_directories=$2 -c max_connections=200" start >/dev/null \
    || { tail -20 "$DIR/logs/postgres.log" >&2; die "PostgreSQL did not start"; }
}

start_redis() { # PORT
  rm -f "$DIR/redis.pid"
  redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$DIR/redis.pid" --logfile "$DIR/logs/redis.log" --dir "$DIR"
  local i
  for ((i = 0; i < 50; i++)); do
    [ -s "$DIR/redis.pid" ] && redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "Redis did not start on $1"
}

stop_redis() {
  [ -f "$DIR/redis.pid" ] || return 0
  local pid i
  pid="$(cat "$DIR/redis.pid")"
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$DIR/redis.pid"
}

# stop|start postgres|redis: one service of a running cluster, to try what the replicas do without it.
service() { # stop|start NAME
  [ -f "$DIR/cluster.env" ] || die "no cluster in $DIR (scripts/cluster.sh up N first)"
  # shellcheck disable=SC1091
  . "$DIR/cluster.env"
  case "$1 $2" in
    "stop postgres") as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null ;;
    "start postgres") start_pg "$PG_BIN" "$PG_DATA" "$PG_PORT" ;;
    "stop redis") stop_redis ;;
    "start redis") start_redis "$REDIS_PORT" ;;
    *) die "$1 what? postgres or redis" ;;
  esac
  echo "cluster: $1 $2: done"
}

up() {
  local n="${1:-2}" model="${2:-${HEARTH_SHARED:-$ROOT/../shared}/models/stories260K.gguf}"
  [[ "$n" =~ ^[0-9]+$ ]] || die "up N: N is the number of replicas; got '$n'"
  local pgbin
  pgbin="$(pg_bin)" || die "PostgreSQL is not installed (Debian: apt-get install postgresql; or bash scripts/install-system-deps.sh)"
  command -v redis-server >/dev/null || die "redis-server is not installed (Debian: apt-get install redis-server)"
  if [ "$n" -gt 0 ]; then
    command -v nginx >/dev/null || die "nginx is not installed (Debian: apt-get install nginx)"
    [ -f "$model" ] || die "no model at $model (give MODEL, or set HEARTH_SHARED)"
  fi
  [ -f "$DIR/cluster.env" ] && die "$DIR/cluster.env exists: run 'scripts/cluster.sh down' first"
  mkdir -p "$DIR/logs"
  chmod 755 "$DIR"
  local pgport=$BASE redisport=$((BASE + 1)) lbport=$((BASE + 2))

  # PostgreSQL: a fresh data folder, trust authentication on loopback only, its socket in the data folder.
  local pgdata="$DIR/pg"
  mkdir -p "$pgdata"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$pgdata" "$DIR/logs"; fi
  as_pg "$pgbin/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 >"$DIR/logs/initdb.log" 2>&1 || { cat "$DIR/logs/initdb.log" >&2; die "initdb failed"; }
  start_pg "$pgbin" "$pgdata" "$pgport"
  as_pg "$pgbin/createdb" -h 127.0.0.1 -p "$pgport" -U postgres hearth
  local pgurl="postgres://postgres@127.0.0.1:$pgport/hearth"

  # Redis: no persistence; a test stops and restarts it on the same port.
  start_redis "$redisport"
  local i
  local redisurl="redis://127.0.0.1:$redisport"

  {
    echo "CLUSTER_DIR=$DIR"
    echo "PG_URL=$pgurl"
    echo "PG_DATA=$pgdata"
    echo "PG_BIN=$pgbin"
    echo "PG_PORT=$pgport"
    echo "REDIS_URL=$redisurl"
    echo "REDIS_PORT=$redisport"
    echo "REPLICAS=$n"
  } >"$DIR/cluster.env.partial"

  if [ "$n" -gt 0 ]; then
    # The first admin key, straight into PostgreSQL (migrating it): replicas refuse to start without one.
    local key
    key="$("$NODE" "$ROOT/bin/hearth.js" keys create --database "$pgurl" --name cluster-admin \
      --scopes admin,inference,models:read,metrics --json | "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).key))')"
    echo "ADMIN_KEY=$key" >>"$DIR/cluster.env.partial"
    local upstreams=""
    for ((i = 1; i <= n; i++)); do
      local port=$((BASE + 10 + i)) home="$DIR/replica-$i"
      mkdir -p "$home"
      HEARTH_HOME="$home" HEARTH_MODELS="$home/models" setsid "$NODE" "$ROOT/bin/hearth.js" serve "$model" --host 127.0.0.1 --port "$port" \
        --auth --database "$pgurl" --redis "$redisurl" --metrics-open --max-connections-per-address 0 >"$DIR/logs/replica-$i.log" 2>&1 </dev/null &
      echo "$!" >"$DIR/replica-$i.pid"
      echo "REPLICA_${i}_URL=http://127.0.0.1:$port" >>"$DIR/cluster.env.partial"
      echo "REPLICA_${i}_PID=$!" >>"$DIR/cluster.env.partial"
      upstreams+="    server 127.0.0.1:$port max_fails=1 fail_timeout=5s;"$'\n'
    done
    for ((i = 1; i <= n; i++)); do
      wait_http "http://127.0.0.1:$((BASE + 10 + i))/health" 60 "$(cat "$DIR/replica-$i.pid")" || { tail -20 "$DIR/logs/replica-$i.log" >&2; die "replica $i did not come up"; }
    done

    # nginx: the settings of deploy/nginx.conf, with these ports and paths.
    mkdir -p "$DIR/nginx/temp"
    cat >"$DIR/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $DIR/nginx/nginx.pid;
events { worker_connections 1024; }
http {
  access_log $DIR/logs/nginx-access.log;
  client_body_temp_path $DIR/nginx/temp/body;
  proxy_temp_path $DIR/nginx/temp/proxy;
  fastcgi_temp_path $DIR/nginx/temp/fastcgi;
  uwsgi_temp_path $DIR/nginx/temp/uwsgi;
  scgi_temp_path $DIR/nginx/temp/scgi;
  upstream hearth {
    least_conn;
$upstreams    keepalive 64;
  }
  server {
    listen 127.0.0.1:$lbport;
    client_max_body_size 16m;
    location / {
      proxy_pass http://hearth;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 600s;
      proxy_next_upstream error timeout;
      proxy_next_upstream_tries 2;
      proxy_connect_timeout 2s;
    }
  }
}
EOF
    nginx -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -e "$DIR/logs/nginx-error.log" \
      || { cat "$DIR/logs/nginx-error.log" >&2; die "nginx did not start"; }
    wait_http "http://127.0.0.1:$lbport/health" 10 || die "nginx does not answer on $lbport"
    echo "LB_URL=http://127.0.0.1:$lbport" >>"$DIR/cluster.env.partial"
    echo "NGINX_PID_FILE=$DIR/nginx/nginx.pid" >>"$DIR/cluster.env.partial"
  fi
  mv "$DIR/cluster.env.partial" "$DIR/cluster.env"
  echo "cluster up: $n replica(s); settings in $DIR/cluster.env"
  grep -E '^(LB_URL|PG_URL|REDIS_URL|REPLICA_[0-9]+_URL)=' "$DIR/cluster.env" || true
}

down() {
  local env="$DIR/cluster.env"
  [ -f "$env" ] || env="$DIR/cluster.env.partial"
  if [ -f "$DIR/nginx/nginx.pid" ]; then kill "$(cat "$DIR/nginx/nginx.pid")" 2>/dev/null || true; fi
  local f
  for f in "$DIR"/replica-*.pid; do
    [ -f "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
  stop_redis
  local pgbin
  if [ -f "$DIR/pg/postmaster.pid" ] && pgbin="$(pg_bin)"; then
    as_pg "$pgbin/pg_ctl" -D "$DIR/pg" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -f "$DIR/cluster.env" "$DIR/cluster.env.partial"
  echo "cluster down ($DIR)"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  stop | start) service "$1" "${2:-}" ;;
  *) echo "usage: scripts/cluster.sh up N [MODEL] | down | stop|start postgres|redis   (CLUSTER_DIR, CLUSTER_PORT)" >&2; exit 2 ;;
esac
