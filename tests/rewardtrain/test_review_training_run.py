"""A training run's review option picks the pairs it trains on, as the export's does."""

import pytest

from tests.rewardtrain.comparisons import train_small

pytestmark = pytest.mark.django_db


def test_a_run_asked_for_accepted_judgments_only_finds_no_imported_pairs_to_train_on(trainable):
    # trainable's 40 pairs have no judgment behind them: nobody accepted them.
    run = train_small(trainable, review="accepted")
    assert run.status == "failed" and "nothing to train on: 0 comparisons" in run.error, run.error
    assert run.options["review"] == "accepted"
