"""train_reward_model without --sync says so when the broker did not take the run, and still exits 0."""

import pytest
from django.core.management import call_command

from rewardtrain.models import TrainingRun


# transaction=True: as in the command, the send runs at once and not after a test's transaction.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["broker_down", "broker_hung"])
def test_a_run_the_broker_did_not_take_is_reported_as_not_sent_yet_with_why(broker, request, project, capsys):
    request.getfixturevalue(broker)
    call_command("train_reward_model", project.slug)  # returns: exit status 0
    run = TrainingRun.objects.get()
    assert run.status == "queued" and run.send_error.startswith("could not send the run to the broker: ")
    out = capsys.readouterr().out
    assert out == (
        f"Run {run.id} for {project.slug} is queued but not sent to a worker yet; beat sends it again "
        f"at its next tick, every minute, once the broker is back. Why: {run.send_error}\n"
    )
