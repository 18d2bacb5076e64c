#!/usr/bin/env bash
# The labeling load benchmark as reported in bench/README.md: for each case a fresh
# PostgreSQL database with 10,000 prompts and 50 labelers, gunicorn as in the Procfile
# (2 workers x 4 threads, --preload), a 5 s warm-up, then 40 s measured.
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres); writes bench/out/labeling-*.{txt,json}.
# BENCH_TRACE=1 also writes, per case, the workers' slow garbage collections (gunicorn-*.log,
# see bench/gunicorn_trace.py) and what the bench database's busy backends were doing, sampled
# every 0.2 s (pgwait-*.txt: time, wait event type, wait event, state, statement). BENCH_TAG names
# the files apart.
set -u
cd "$(dirname "$0")/.."
. .venv/bin/activate
export SECRET_KEY=bench DATABASE_URL=postgres://postgres@127.0.0.1:5432/arbiter_bench ALLOWED_HOSTS=127.0.0.1,localhost
out=bench/out
mkdir -p "$out"
tag=${BENCH_TAG:-}
trace=()
[ "${BENCH_TRACE:-0}" = 1 ] && trace=(-c bench/gunicorn_trace.py)

# What the bench database's busy backends are doing: one psql session, every 0.2 s, until killed.
waits_sql="SELECT round(extract(epoch FROM clock_timestamp())::numeric, 2), coalesce(wait_event_type, 'CPU'),
  coalesce(wait_event, '-'), state,
  CASE WHEN query LIKE '%NOT IN%' THEN 'candidate (retry)' ELSE left(regexp_replace(query, '\s+', ' ', 'g'), 40) END
  FROM pg_stat_activity WHERE datname = 'arbiter_bench' AND state <> 'idle' AND pid <> pg_backend_pid()"

run() {  # name labelers think
  dropdb -h 127.0.0.1 -U postgres --if-exists arbiter_bench
  createdb -h 127.0.0.1 -U postgres arbiter_bench
  python manage.py migrate -v0
  python bench/make_bench_project.py --slug bench --prompts 10000 --labelers 50 --overlap 2 >/dev/null
  psql -qh 127.0.0.1 -U postgres arbiter_bench -c ANALYZE
  # Flush the bulk load now: its checkpoint would otherwise land in the measured window
  # and stall every commit's WAL flush behind it (1.5-2.5 s pauses were seen).
  psql -qh 127.0.0.1 -U postgres arbiter_bench -c CHECKPOINT
  gunicorn annotator.wsgi "${trace[@]}" -w 2 --threads 4 --preload -b 127.0.0.1:8765 --log-level warning \
    >"$out/gunicorn-$1$tag.log" 2>&1 &
  local server=$!
  sleep 8
  python bench/labeling_load.py --labelers 10 --think 0 --duration 5 --no-db-check >/dev/null 2>&1
  local sampler=
  if [ ${#trace[@]} -gt 0 ]; then
    printf '%s\n\\watch 0.2\n' "$waits_sql" | psql -XqAt -F ' | ' -h 127.0.0.1 -U postgres arbiter_bench \
      >"$out/pgwait-$1$tag.txt" 2>&1 &
    sampler=$!
  fi
  python bench/labeling_load.py --labelers "$2" --think "$3" --duration 40 \
    --server-pids "$(pgrep -P $server | paste -sd,)" --json "$out/labeling-$1$tag.json" | tee "$out/labeling-$1$tag.txt"
  if [ -n "$sampler" ]; then kill $sampler; wait $sampler 2>/dev/null; fi
  kill $server
  wait $server 2>/dev/null
}

run l20-think1-3 20 1-3
run l50-think1-3 50 1-3
run l20-think0 20 0
run l50-think0 50 0
