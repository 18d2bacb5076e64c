"""Peak memory of checking a decompression bomb: small Parquet files that decode to gigabytes.

    .venv/bin/python bench/import_bomb.py                 # the audit's sizes
    .venv/bin/python bench/import_bomb.py --code /tmp/old # the same files through another tree's reader
    .venv/bin/python bench/import_bomb.py --smoke         # small bombs: the script still runs

Writes each bomb to a temporary file, then reads it in a child process the way an import's
checking pass does (annotator.fileformats: read_parquet into the parser; Django-free, so the
child loads no database) and prints the child's peak RSS (os.wait4's rusage), its time and the
first error it reported, beside the same child on a valid one-row file: what Python and pyarrow
cost before any row is read. The last line is a JSON summary. `--code DIR` imports the
fileformats package from another checkout (e.g. `git archive <commit> annotator | tar -x -C DIR`)
to measure the reader before a change.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
MAX_IMPORT_BYTES = 200 * 1024 * 1024  # ARBITER_MAX_IMPORT_BYTES's default

CHILD = """
import inspect, json, sys, time
sys.path.insert(0, sys.argv[1])
from annotator.fileformats import Limits, parquet_format, parse_objects, read_parquet
started = time.monotonic()
limits = Limits(max_text_chars=100_000, max_id_chars=200, max_model_chars=200)
with open(sys.argv[2], "rb") as binary:
    form = parquet_format(binary)
    binary.seek(0)
    bounded = "max_bytes" in inspect.signature(read_parquet).parameters
    rows = read_parquet(binary, max_bytes=int(sys.argv[3])) if bounded else read_parquet(binary)
    errors, records, first = 0, 0, ""
    for item in parse_objects(form, rows, limits):
        if type(item).__name__ == "LineError":
            errors += 1
            first = first or str(item)[:160]
        else:
            records += 1
print(json.dumps({"records": records, "errors": errors, "first_error": first, "read_s": round(time.monotonic() - started, 2)}))
"""


def repeated(text, n):
    """n copies of text as a dictionary array: one entry, the rest run-length encoded."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([text]))


def bombs(scale):
    """(name, table, write options) of each bomb; scale 1 is the audit's size."""
    values = 10_000_000 // scale
    completions = pa.ListArray.from_arrays(pa.array([0, values], type=pa.int32()), repeated("a" * 10, values))
    rows = 2_000_000 // scale
    yield f"one row, a list of {values:,} values", pa.table({"prompt": ["p"], "completions": completions}), {}
    text = 100_000_000 // scale
    yield f"one text of {text:,} characters", pa.table({"prompt": ["x" * text], "completions": [["a", "b"]]}), {
        "use_dictionary": False
    }
    table = pa.table({"prompt": repeated("p" * 1000, rows), "completions": pa.array([["a", "b"]] * rows)})
    yield f"{rows:,} rows of a 1,000-character text", table, {}
    yield "valid: one row", pa.table({"prompt": ["p"], "completions": [["a", "b"]]}), {}


def measure(code, path, max_bytes):
    """(child's JSON result, peak RSS in MB, wall seconds)."""
    with tempfile.TemporaryFile("w+") as output:
        started = time.monotonic()
        command = [sys.executable, "-c", CHILD, str(code), str(path), str(max_bytes)]
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.monotonic() - started
        output.seek(0)
        text = output.read()
    if os.waitstatus_to_exitcode(status):
        return {"failed": text[-500:]}, usage.ru_maxrss / 1024, seconds
    return json.loads(text.strip().splitlines()[-1]), usage.ru_maxrss / 1024, seconds


def write_bombs(folder, scale):
    """Each bomb as folder/<index>.parquet, with its name in names.json."""
    names = []
    for index, (name, table, options) in enumerate(bombs(scale)):
        pq.write_table(table, Path(folder) / f"{index}.parquet", compression="zstd", **options)
        names.append(name)
    (Path(folder) / "names.json").write_text(json.dumps(names))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="bombs 1,000 times smaller")
    parser.add_argument("--code", default=str(ROOT), help="the checkout whose annotator.fileformats reads")
    parser.add_argument("--write", metavar="DIR", help=argparse.SUPPRESS)  # the writing child
    args = parser.parse_args()
    scale = 1000 if args.smoke else 1
    if args.write:
        return write_bombs(args.write, scale)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        # Written by a child: a forked child's peak RSS starts from its parent's, so this process
        # never holds a bomb's data.
        subprocess.run([sys.executable, __file__, "--write", folder, *(["--smoke"] if args.smoke else [])], check=True)
        for index, name in enumerate(json.loads((Path(folder) / "names.json").read_text())):
            path = Path(folder) / f"{index}.parquet"
            load = os.getloadavg()[0]
            result, peak_mb, seconds = measure(args.code, path, MAX_IMPORT_BYTES)
            row = {"bomb": name, "file_bytes": path.stat().st_size, "peak_rss_mb": round(peak_mb), "seconds": round(seconds, 2),
                   "load": round(load, 2), **result}  # fmt: skip
            print(f"{name}: {row['file_bytes']:,} bytes -> peak RSS {peak_mb:,.0f} MB in {seconds:.1f} s "
                  f"(load {load:.2f}); {result}", flush=True)  # fmt: skip
            rows.append(row)
    print(json.dumps({"code": args.code, "cpus": os.cpu_count(), "rows": rows}))


if __name__ == "__main__":
    main()
