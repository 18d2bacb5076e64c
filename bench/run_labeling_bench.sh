#!/usr/bin/env bash
# The labeling load benchmark as reported in bench/README.md: for each case a fresh
# PostgreSQL database with 10,000 prompts and 50 labelers, gunicorn as in the Procfile
# (2 workers x 4 threads, --preload), a 5 s warm-up, then 40 s measured.
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres); writes bench/out/labeling-*.{txt,json}.
set -u
cd "$(dirname "$0")/.."
. .venv/bin/activate
export SECRET_KEY=bench DATABASE_URL=postgres://postgres@127.0.0.1:5432/arbiter_bench ALLOWED_HOSTS=127.0.0.1,localhost
out=bench/out
mkdir -p "$out"

run() {  # name labelers think
  dropdb -h 127.0.0.1 -U postgres --if-exists arbiter_bench
  createdb -h 127.0.0.1 -U postgres arbiter_bench
  python manage.py migrate -v0
  python bench/make_bench_project.py --slug bench --prompts 10000 --labelers 50 --overlap 2 >/dev/null
  psql -qh 127.0.0.1 -U postgres arbiter_bench -c ANALYZE
  gunicorn annotator.wsgi -w 2 --threads 4 --preload -b 127.0.0.1:8765 --log-level warning >"$out/gunicorn-$1.log" 2>&1 &
  local server=$!
  sleep 8
  python bench/labeling_load.py --labelers 10 --think 0 --duration 5 --no-db-check >/dev/null 2>&1
  python bench/labeling_load.py --labelers "$2" --think "$3" --duration 40 \
    --server-pids "$(pgrep -P $server | paste -sd,)" --json "$out/labeling-$1.json" | tee "$out/labeling-$1.txt"
  kill $server
  wait $server 2>/dev/null
}

run l20-think1-3 20 1-3
run l50-think1-3 50 1-3
run l20-think0 20 0
run l50-think0 50 0
