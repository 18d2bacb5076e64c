"""Import throughput and peak memory: N labelled pairs through `manage.py import_prompts`.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/arbiter .venv/bin/python bench/import_bench.py 200000

Generates N `pairs` lines (prompt ~150, chosen ~320, rejected ~320 characters, every prompt
distinct) into a temporary file, creates a fresh project, imports the file with the command in
a child process and prints lines/s, rows/s and the child's peak RSS (os.wait4's rusage of
that one child), beside the peak RSS of the same command on an empty file: what loading Django
and its apps costs before any line is read. The project is deleted afterwards unless --keep.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")

WORDS = (
    "the a model answer question user assistant because which would could data reward label "
    "prompt careful simple quickly often never always result python server memory import line "
    "value error report batch stream file check write commit rollback number text reply"
).split()


def sentence(rng, chars):
    words = []
    while sum(len(w) + 1 for w in words) < chars:
        words.append(rng.choice(WORDS))
    return " ".join(words)[:chars]


def write_pairs(path, n, seed=0):
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            record = {
                "prompt": f"{i}: " + sentence(rng, 145),
                "chosen": sentence(rng, 320),
                "rejected": sentence(rng, 320),
            }
            out.write(json.dumps(record) + "\n")


def run_child(command, env):
    """(exit status, output, seconds, peak RSS in MB) of one child process, measured alone."""
    with tempfile.TemporaryFile("w+") as output:
        started = time.monotonic()
        child = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.monotonic() - started
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: tell Popen
        output.seek(0)
        return child.returncode, output.read(), seconds, usage.ru_maxrss / 1024  # KiB on Linux


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of pair lines")
    parser.add_argument("--keep", action="store_true", help="keep the project and its rows")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from annotator.models import Project
    from annotator.projects import project_create

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pairs.jsonl"
        write_pairs(path, args.n)
        size = path.stat().st_size
        project = project_create(slug=f"import-bench-{os.getpid()}-{int(time.time())}", name="import bench")
        load_before = os.getloadavg()
        env = {**os.environ, "ARBITER_MAX_IMPORT_BYTES": str(max(size, 1) * 2)}
        command = [sys.executable, str(ROOT / "manage.py"), "import_prompts", project.slug]
        empty = Path(folder) / "empty.jsonl"
        empty.write_text("")
        _, _, _, baseline_mb = run_child([*command, str(empty), "--format", "pairs"], env)
        returncode, output, seconds, peak_mb = run_child([*command, str(path), "--format", "pairs"], env)
        load_after = os.getloadavg()
        if returncode:
            raise SystemExit(f"import failed with exit status {returncode}:\n{output}")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT count(*) FROM annotator_prompt WHERE project_id = %s),"
                " (SELECT count(*) FROM annotator_completion c JOIN annotator_prompt p ON c.prompt_id = p.id"
                " WHERE p.project_id = %s), (SELECT count(*) FROM annotator_comparison WHERE project_id = %s)",
                [project.pk, project.pk, project.pk],
            )
            rows = sum(cursor.fetchone())
        print(f"database: {connection.vendor}; file: {args.n:,} lines, {size / 1e6:,.1f} MB")
        print(f"command output: {output.strip()}")
        print(f"wall: {seconds:,.1f} s; {args.n / seconds:,.0f} lines/s; {rows / seconds:,.0f} rows/s ({rows:,} rows)")
        print(f"peak RSS of the import: {peak_mb:,.0f} MB (the same command on an empty file: {baseline_mb:,.0f} MB)")
        print(f"load average at start {load_before[0]:.2f}, at end {load_after[0]:.2f}; {os.cpu_count()} CPUs")
        if not args.keep:  # in SQL: the ORM's cascade would load every row into this process
            with connection.cursor() as cursor:
                for table, where in [
                    ("annotator_comparison", "project_id = %s"),
                    ("annotator_completion", "prompt_id IN (SELECT id FROM annotator_prompt WHERE project_id = %s)"),
                    ("annotator_prompt", "project_id = %s"),
                ]:
                    cursor.execute(f"DELETE FROM {table} WHERE {where}", [project.pk])
            Project.objects.filter(pk=project.pk).delete()


if __name__ == "__main__":
    main()
