"""What a process pays before it does anything: commands (import, export) and Celery's
master must not import torch (about 250 MB) just by starting Django or running its checks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_starting_django_does_not_import_torch():
    code = "import sys, django; django.setup(); print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "annotator.settings", "SECRET_KEY": "x"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_wsgi_module_loads_every_view_before_gunicorn_forks():
    code = "import sys, annotator.wsgi; print('torch' in sys.modules, 'rewardtrain.api' in sys.modules)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "annotator.settings", "SECRET_KEY": "x"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True True"


def test_a_data_command_runs_without_importing_torch(tmp_path):
    # Django's system checks import the URLconf, and with it every API view.
    code = (
        "import sys, django; django.setup(); from django.core.management import call_command; "
        "call_command('check'); print('torch' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "annotator.settings", "SECRET_KEY": "x", "ARBITER_DATA_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
