import gc
import os
from importlib import import_module

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
application = get_wsgi_application()

# Import every view, and torch for the scoring API, now: under gunicorn --preload the workers
# fork with them loaded and shared, and no worker's first request waits for them.
get_resolver().url_patterns
import_module("rewardtrain.scoring")

# Everything loaded so far (Django, DRF, the views, torch: ~240,000 objects) lives as long as the
# process. Frozen, it is skipped by every garbage collection: a full collection paused a
# worker for 170-410 ms before, and with gunicorn --preload the frozen pages stay shared
# with the forked workers. Measured in bench/README.md (saturated: +14-17% judgments/s).
gc.freeze()
