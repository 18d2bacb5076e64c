"""A tiny random BERT reward model and WordPiece tokenizer, built offline once per session."""

import pytest

from rewardtrain.data import Pair

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (
    "the a an is are was be to of and or in on at for with this that it you i we they he she "
    "what how why when where who can could would should will do does did not no yes please "
    "human assistant good bad great terrible answer question help tell me about make some "
    "cat dog bird fish tree house car road city river water fire sun moon star sky rain snow "
    "red blue green black white big small long short old new fast slow happy sad kind rude "
    "one two three four five six seven eight nine ten first last next again more less very "
    "hello thanks sorry ok sure maybe never always here there now then today tomorrow "
).split()
CHARS = list("abcdefghijklmnopqrstuvwxyz0123456789.,?!:'")
VOCAB = SPECIAL + WORDS + CHARS + [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz0123456789"]


def make_tiny_model(folder):
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = BertTokenizer(vocab={token: i for i, token in enumerate(VOCAB)}, do_lower_case=True)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


MPNET_SPECIALS = ["<s>", "<pad>", "</s>", "[UNK]", "<mask>"]


def make_tiny_mpnet(folder):
    """A 2-layer random MPNet saved as a masked LM (a base without a classifier head, as
    all-mpnet-base-v2 ships) and its WordPiece tokenizer."""
    import torch
    from transformers import MPNetConfig, MPNetForMaskedLM, MPNetTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    vocab = MPNET_SPECIALS + [token for token in VOCAB if not token.startswith("[")]
    tokenizer = MPNetTokenizer(vocab={token: i for i, token in enumerate(vocab)})
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = MPNetConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=514, pad_token_id=1)  # fmt: skip
    MPNetForMaskedLM(config).save_pretrained(folder)
    return folder


@pytest.fixture
def two_versions(project, tiny_model, settings):
    """A project with v1 and v2 of the tiny model published, v2 current, neither loaded by this process yet."""
    from rewardtrain.models import RewardModelVersion
    from tests.rewardtrain.comparisons import make_comparisons, train_small

    settings.ARBITER_GATE_MIN_PAIRS = 1  # compare on the ~10 held-out pairs: v2 (same data, same seed) is no worse
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 40)
    for _ in range(2):
        run = train_small(project, from_scratch=True)
        assert run.status == "succeeded", run.error
    assert RewardModelVersion.objects.get(is_current=True).version == 2
    return project


@pytest.fixture(scope="session")
def model_root(tmp_path_factory):
    """The folder of the test models, added to ARBITER_MODEL_ROOTS for every test here."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def _test_models_may_be_base_models(settings, model_root):
    settings.ARBITER_MODEL_ROOTS = [*settings.ARBITER_MODEL_ROOTS, model_root]


@pytest.fixture(scope="session")
def tiny_model(model_root):
    """Path (str) of a tiny random BERT with a 1-output head."""
    return str(make_tiny_model(model_root / "tiny-bert"))


@pytest.fixture(scope="session")
def tiny_mpnet(model_root):
    """Path (str) of a tiny random MPNet base (no classifier head)."""
    return str(make_tiny_mpnet(model_root / "tiny-mpnet"))


@pytest.fixture
def trainable(project, tiny_model):
    """The project with the tiny model as its base and 40 comparisons: a run trains in seconds."""
    from tests.rewardtrain.comparisons import make_comparisons

    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 40)
    return project


@pytest.fixture
def trained(trainable):
    """`trainable` with v1 trained and current (test files with a fixture of this name of their own use theirs)."""
    from tests.rewardtrain.comparisons import train_small

    run = train_small(trainable)
    assert run.status == "succeeded" and run.version and run.version.is_current, run.error
    return trainable


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


@pytest.fixture(scope="session")
def toy_pairs():
    """make_toy_pairs(n, seed=0) as a fixture: test modules here are not a package."""
    return make_toy_pairs


def make_toy_pairs(n, seed=0):
    """Trivially separable pairs: the chosen reply says "good", the rejected one "bad"."""
    import random

    rng = random.Random(seed)
    nouns = "cat dog bird fish tree house car road city river".split()
    pairs = []
    for i in range(n):
        subject = " ".join(rng.choice(nouns) for _ in range(rng.randint(1, 6)))
        prompt = f"human: tell me about the {subject} {i}. assistant:"
        tail = " ".join(rng.choice(nouns) for _ in range(rng.randint(0, 4)))
        pairs.append(Pair(prompt, f"the {tail} is good", f"the {tail} is bad", id=i))
    return pairs
