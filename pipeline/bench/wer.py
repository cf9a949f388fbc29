"""Word error rate the same way everywhere: normalise both sides, then the corpus WER (jiwer's
definition: all word edits over all reference words, computed here so the default install needs no jiwer).

Whisper writes "5" where a script says "five", "voicemail" where it says "voice
mail"; those are not recognition errors, so both sides are normalised first.
"""

from __future__ import annotations

import re

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
    " sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_ORDINAL = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}  # fmt: skip


def number_words(n: int) -> str:
    """0-9999 in words ("one thousand two hundred thirty four"); larger ones digit by digit."""
    if n < 0:
        return "minus " + number_words(-n)
    if n >= 10000:
        return " ".join(_ONES[int(d)] for d in str(n))
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + number_words(n % 100))
    return _ONES[n // 1000] + " thousand" + ("" if n % 1000 == 0 else " " + number_words(n % 1000))


def _ordinal_words(n: int) -> str:
    words = number_words(n).split()
    last = words[-1]
    if last in _ORDINAL:
        words[-1] = _ORDINAL[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def _number_token(m: re.Match) -> str:
    whole, frac, ordinal = m["whole"], m["frac"], m["ord"]
    out = number_words(int(whole))
    if ordinal:
        out = _ordinal_words(int(whole))
    if frac:
        out += " point " + " ".join(_ONES[int(d)] for d in frac)
    return f" {out} "


# Spelling variants that are the same words: mapped to one form on both sides.
_SAME_WORDS = {
    "voice mail": "voicemail",
    "voice mails": "voicemails",
    "touch tone": "touchtone",
    "key pad": "keypad",
    "mail box": "mailbox",
    "mail boxes": "mailboxes",
    "e mail": "email",
    "log in": "login",
    "log on": "logon",
    "log off": "logoff",
    "hang up": "hangup",
    "set up": "setup",
    "good bye": "goodbye",
    "good night": "goodnight",
    "any time": "anytime",
    "can not": "cannot",
    "re record": "rerecord",
    "re entered": "reentered",
    "un mute": "unmute",
    "un muted": "unmuted",
    "un delete": "undelete",
    "on line": "online",
    "file name": "filename",
    "file names": "filenames",
    "voiceoverip": "voice over ip",
    "okay": "ok",
    "thru": "through",
    "alright": "all right",
    "per cent": "percent",
}  # fmt: skip
_SAME_WORDS_RE = re.compile(
    r"\b(" + "|".join(re.escape(k) for k in sorted(_SAME_WORDS, key=len, reverse=True)) + r")\b"
)

# Contractions are expanded on both sides ("I'm sorry, that's" == "I am sorry, that is").
_CONTRACTIONS = {"won't": "will not", "can't": "can not", "shan't": "shall not", "let's": "let us"}
_CONTRACTIONS.update({f"{w}'s": f"{w} is" for w in "it that there here what who he she where how".split()})
_CONTRACTION_RE = re.compile(r"\b(?:" + "|".join(re.escape(k) for k in _CONTRACTIONS) + r")\b")

_SYMBOLS = {"%": " percent ", "#": " pound ", "*": " star ", "&": " and ", "+": " plus ", "@": " at ", "=": " equals "}


def normalise(text: str) -> str:
    """Lowercase words for WER: digits as words, symbols spoken, punctuation and hyphens gone."""
    t = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    t = re.sub(r"(?<=\d),(?=\d{3}\b)", "", t)  # 1,234 -> 1234
    t = re.sub(r"\$(\d+)", r"\1 dollars", t)
    for sym, word in _SYMBOLS.items():
        t = t.replace(sym, word)
    t = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])(?!(?:st|nd|rd|th)\b)", " ", t)  # h323, 3d
    t = re.sub(r"(?P<whole>\d+)(?:(?P<ord>st|nd|rd|th)\b|\.(?P<frac>\d+))?", _number_token, t)
    t = _CONTRACTION_RE.sub(lambda m: _CONTRACTIONS[m.group(0)], t)
    t = re.sub(r"n't\b", " not", t)
    t = re.sub(r"'re\b", " are", t)
    t = re.sub(r"'ve\b", " have", t)
    t = re.sub(r"'ll\b", " will", t)
    t = re.sub(r"'d\b", " would", t)
    t = re.sub(r"\bi'm\b", "i am", t)
    t = re.sub(r"'s\b", "s", t)  # other 's are possessives: party's -> partys, on both sides
    t = t.replace("'", "")  # don't -> dont
    t = re.sub(r"[^a-z\s]", " ", t)  # punctuation, hyphens, dots
    t = re.sub(r"\s+", " ", t).strip()
    t = _SAME_WORDS_RE.sub(lambda m: _SAME_WORDS[m.group(1)], t)
    return t


def word_edits(reference: list[str], hypothesis: list[str]) -> int:
    """Fewest substitutions, deletions and insertions that turn one word list into the other
    (Levenshtein over words, one row at a time; insertions along a row by a running minimum)."""
    import numpy as np

    vocab: dict[str, int] = {}
    hyp = np.array([vocab.setdefault(w, len(vocab)) for w in hypothesis], np.int64)
    steps = np.arange(len(hypothesis) + 1)
    previous = steps.copy()
    for i, word in enumerate(reference, 1):
        same = hyp == vocab.get(word, -1)
        best = np.empty_like(previous)
        best[0] = i
        best[1:] = np.minimum(previous[1:] + 1, previous[:-1] + ~same)
        previous = np.minimum.accumulate(best - steps) + steps
    return int(previous[-1])


def wer(references: list[str], hypotheses: list[str]) -> float:
    """Corpus-level WER (all errors / all reference words) after `normalise` on both sides; empty
    references are left out (as jiwer refuses them)."""
    if len(references) != len(hypotheses):
        raise ValueError("references and hypotheses differ in length")
    pairs = [(normalise(r).split(), normalise(h).split()) for r, h in zip(references, hypotheses)]
    pairs = [(r, h) for r, h in pairs if r]
    words = sum(len(r) for r, _ in pairs)
    return sum(word_edits(r, h) for r, h in pairs) / words if words else 0.0
