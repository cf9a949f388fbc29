"""The role's vocabulary as Whisper hotwords: the technical terms its bank questions use.

A term is a word of the bank's question texts (and their alternatives) that is long, or written
in capitals (AUC, GPU), that several questions share, and that is not everyday English. The
transcriber gives them to Whisper ahead of the prompt (`TranscriberOptions.hotwords`) and cuts
text that only repeats them.
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

# Long words every interview says; they are not vocabulary to listen for.
COMMON = frozenset(
    "about after again always another anything because before being between could would should "
    "different during every example explain first going happen happened having instead makes model "
    "models other people problem project really something someone still their there these thing "
    "things think those through under using which while without working worked write written years "
    "change choose decide describe number option their check start started talk walk place point "
    "system systems team where whether whole within make sure would actually exactly happens compare "
    "changes results tomorrow looking getting against request business product machine version service "
    "release quality teammate learning trained predicting predict network positive".split()
)


def role_hotwords(role: str, bank_root: Path | None = None, limit: int = 40) -> str:
    """Up to `limit` terms of the role's bank, most shared first, as one hotwords string."""
    from pipeline.retrieval.bank import load_bank  # lazy: keeps pydantic off start-up

    bank = load_bank(role, bank_root)
    counts: collections.Counter[str] = collections.Counter()
    spelled: dict[str, str] = {}
    for q in bank.questions:
        words = set()
        for text in [q.text, *q.alternatives]:
            for word in re.findall(r"[A-Za-z][A-Za-z-]+", text):
                key = word.lower()
                if (len(word) >= 7 or (word.isupper() and len(word) >= 2)) and key not in COMMON:
                    words.add(key)
                    spelled.setdefault(key, word if word.isupper() else key)
        counts.update(words)
    terms = [spelled[w] for w, n in counts.most_common() ][:limit]
    return ", ".join(terms)
