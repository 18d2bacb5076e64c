"""Export speed and peak memory: N comparisons through `manage.py export_comparisons`, per format.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/arbiter_export_bench .venv/bin/python bench/export_bench.py 1000000

Creates a fresh project with N prompts (~150 characters), 2N completions (~320) and N
comparisons in a few INSERT ... SELECT generate_series statements (seconds, not the import's
minutes), then runs the command once per format (jsonl, csv, parquet) in a child process
whose standard output this process reads. For each it prints the time to the first byte and
to the last, rows/s from the first byte on (Django's start-up, seconds here because it imports
torch, is not the export's), and the child's peak RSS (os.wait4's rusage of that one child). The
same command on an empty project gives what starting Django costs before any row is read.
The project is deleted afterwards unless --keep.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
FORMATS = ("jsonl", "csv", "parquet")

# Texts from md5 digests, so every prompt and completion is distinct and none compresses to nothing.
FILL_SQL = [
    """INSERT INTO annotator_prompt (project_id, external_id, text, metadata, queued, judgment_count, created_at)
       SELECT %(project)s, 'p' || i, i || ': ' || repeat(md5(i::text), 4) || ' ' || md5((-i)::text),
              '{}', false, 0, now() - (%(n)s - i) * interval '1 second'
       FROM generate_series(1, %(n)s) AS i""",
    """INSERT INTO annotator_completion (prompt_id, text, model_name, metadata, origin, created_at)
       SELECT p.id, k || ' ' || repeat(md5(p.id::text || k), 10), '', '{}', 'imported', p.created_at
       FROM annotator_prompt p, generate_series(1, 2) AS k WHERE p.project_id = %(project)s""",
    """INSERT INTO annotator_comparison (project_id, prompt_id, chosen_id, rejected_id, source, strength, created_at)
       SELECT %(project)s, c.prompt_id, min(c.id), max(c.id), 'imported',
              CASE WHEN c.prompt_id %% 3 = 0 THEN 'much' ELSE '' END, min(c.created_at)
       FROM annotator_completion c JOIN annotator_prompt p ON p.id = c.prompt_id
       WHERE p.project_id = %(project)s GROUP BY c.prompt_id""",
]


def export_run(slug, file_format):
    """(seconds to the first byte, seconds to the end, bytes, peak RSS in MB) of one export."""
    command = [sys.executable, str(ROOT / "manage.py"), "export_comparisons", slug, "--format", file_format]
    started = time.monotonic()
    child = subprocess.Popen(command, stdout=subprocess.PIPE)
    first = child.stdout.read(1)
    first_byte = time.monotonic() - started
    size = len(first)
    while chunk := child.stdout.read(1 << 20):
        size += len(chunk)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.monotonic() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: tell Popen
    if child.returncode:
        raise SystemExit(f"export of {slug} as {file_format} failed with exit status {child.returncode}")
    return first_byte, seconds, size, usage.ru_maxrss / 1024  # KiB on Linux


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of comparisons")
    parser.add_argument("--keep", action="store_true", help="keep the project and its rows")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection, transaction

    from annotator.models import Project
    from annotator.projects import project_create

    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database: the figures are for PostgreSQL.")
    stamp = f"{os.getpid()}-{int(time.time())}"
    project = project_create(slug=f"export-bench-{stamp}", name="export bench")
    empty = project_create(slug=f"export-bench-empty-{stamp}", name="export bench, empty")
    try:
        started = time.monotonic()
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in FILL_SQL:
                cursor.execute(sql, {"project": project.pk, "n": args.n})
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE annotator_prompt; ANALYZE annotator_completion; ANALYZE annotator_comparison")
        print(f"database: PostgreSQL; {args.n:,} comparisons made in {time.monotonic() - started:,.1f} s")
        print(f"{os.cpu_count()} CPUs; load average before the exports {os.getloadavg()[0]:.2f}")
        print("| format | first byte | wall | rows/s after the first byte | MB | peak RSS "
              "| empty project: first byte, peak RSS | load |")
        print("|---|---|---|---|---|---|---|---|")
        for file_format in FORMATS:
            # CSV writes its header at once, so on an empty project its first byte is Django's start-up.
            empty_first, _, _, empty_rss = export_run(empty.slug, "csv")
            first_byte, seconds, size, rss = export_run(project.slug, file_format)
            print(
                f"| {file_format} | {first_byte:.2f} s | {seconds:.1f} s | {args.n / (seconds - first_byte):,.0f} "
                f"| {size / 1e6:,.0f} "
                f"| {rss:,.0f} MB | {empty_first:.2f} s, {empty_rss:,.0f} MB | {os.getloadavg()[0]:.2f} |",
                flush=True,
            )
    finally:
        if not args.keep:  # in SQL: the ORM's cascade would load every row into this process
            with connection.cursor() as cursor:
                for table, where in [
                    ("annotator_comparison", "project_id = %s"),
                    ("annotator_completion", "prompt_id IN (SELECT id FROM annotator_prompt WHERE project_id = %s)"),
                    ("annotator_prompt", "project_id = %s"),
                ]:
                    cursor.execute(f"DELETE FROM {table} WHERE {where}", [project.pk])
            Project.objects.filter(pk__in=[project.pk, empty.pk]).delete()


if __name__ == "__main__":
    main()
