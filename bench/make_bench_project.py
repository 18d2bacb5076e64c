"""Make a project for the labeling load benchmark: N prompts x 2 completions, M labelers with API tokens.

Writes the labelers' tokens, one per line, to --tokens-file and prints its path.
Uses the Django ORM of this repository, so run it with the same DATABASE_URL
(and SECRET_KEY) as the server under test:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/arbiter_bench SECRET_KEY=bench \
        python bench/make_bench_project.py --slug bench --prompts 10000 --labelers 50 --overlap 2
"""

import argparse
import os
import sys
from pathlib import Path

BATCH_ROWS = 2000  # rows per INSERT: keeps memory flat for large projects


def prompts_add(project, n):
    """n prompts of benchmark text, two completions each, in batches (Django set up)."""
    from annotator.models import Completion, Prompt

    for start in range(0, n, BATCH_ROWS):
        prompts = Prompt.objects.bulk_create(
            Prompt(project=project, external_id=f"bench-{i}", text=f"Benchmark prompt {i}: " + "words " * 40)
            for i in range(start, min(start + BATCH_ROWS, n))
        )
        Completion.objects.bulk_create(
            Completion(prompt=prompt, text=f"Answer {k} to {prompt.external_id}. " + "text " * 80)
            for prompt in prompts
            for k in range(2)
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slug", default="bench")
    parser.add_argument("--prompts", type=int, default=10_000)
    parser.add_argument("--labelers", type=int, default=50)
    parser.add_argument("--overlap", type=int, default=2)
    parser.add_argument("--tokens-file", type=Path, default=Path("bench/out/tokens.txt"))
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    import django

    django.setup()
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from annotator.members import membership_add, user_get_or_create
    from annotator.models import Project
    from annotator.projects import project_create

    if Project.objects.filter(slug=args.slug).exists():
        parser.error(f"project {args.slug!r} exists already: pick another --slug or use a fresh database")

    with transaction.atomic():
        project = project_create(slug=args.slug, name=f"Load benchmark ({args.prompts} prompts)", overlap=args.overlap)
        prompts_add(project, args.prompts)
        tokens = []
        for n in range(args.labelers):
            user, _ = user_get_or_create(username=f"{args.slug}-labeler-{n}")
            membership_add(project=project, user=user, role="labeler")
            tokens.append(Token.objects.get_or_create(user=user)[0].key)

    args.tokens_file.parent.mkdir(parents=True, exist_ok=True)
    args.tokens_file.write_text("".join(f"{token}\n" for token in tokens))
    args.tokens_file.chmod(0o600)
    print(args.tokens_file)


if __name__ == "__main__":
    main()
