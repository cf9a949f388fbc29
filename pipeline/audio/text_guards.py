"""Text guards against Whisper's known failure modes: loops, restarts, echoes of the prompt.

Pure functions on text, used by the transcriber (`transcriber.py`) on every decode.
"""

from __future__ import annotations

import re


def _normal(text: str) -> str:
    """Lower-case words and apostrophes only; Latin-1 accented letters count as letters (Italian "è", "perché")."""
    return re.sub(r"[^a-z\u00e0-\u00f6\u00f8-\u00ff' ]", "", text.lower()).strip()


def has_loop(text: str) -> bool:
    """Whisper looping: a phrase of 4+ words said again right after itself (the repeat may be
    cut short by the end of the text), or a word or short phrase 4+ times in a row."""
    words = _normal(text).split()
    for n in range(1, len(words)):
        for i in range(len(words) - n - 3 if n >= 4 else len(words) - 2 * n + 1):
            if n >= 4:
                again = words[i + n : i + 2 * n]
                if len(again) >= 4 and again == words[i : i + len(again)]:
                    return True
                continue
            reps = 1
            while words[i + reps * n : i + (reps + 1) * n] == words[i : i + n]:
                reps += 1
            if reps >= 4:
                return True
    return False


def cut_repeat(text: str, min_words: int = 4) -> str:
    """Text up to where its opening phrase (4+ words) starts over, e.g. 'A b c d. A b c' -> 'A b c d.';
    also a last sentence, or a fragment after the last one, that restarts the text ('... work. I')."""
    text = _cut_restart_tail(text)
    tokens = text.split()
    kept = [(i, w) for i, t in enumerate(tokens) if (w := _normal(t))]
    words = [w for _, w in kept]
    for start in range(len(words)):
        for again in range(start + min_words, len(words) - min_words + 1):
            n = min(again - start, len(words) - again)
            if n >= min_words and words[again : again + n] == words[start : start + n]:
                return " ".join(tokens[: kept[again][0]])
    return text


_LAST_SENTENCE = re.compile(r"^(?P<body>.*[.?!])\s+(?P<tail>[^.?!]*[.?!]?)$", re.DOTALL)


def _cut_restart_tail(text: str) -> str:
    while (m := _LAST_SENTENCE.match(text.strip())) and m["tail"].strip():
        tail, body = _normal(m["tail"]).split(), _normal(m["body"]).split()
        if not tail or body[: len(tail)] != tail:
            break
        text = m["body"]
    return text


# Faster than anyone speaks: words beyond this rate for the audio came from the prompt, not the speaker.
MAX_WORDS_PER_S = 4.5


def drop_prompt_echo(text: str, prompt: str, seconds: float | None = None, min_words: int = 3) -> str:
    """Whisper sometimes repeats its prompt: cut an opening that repeats the prompt's last words,
    and return '' when the whole text is words of the prompt (3+ in a row).

    With `seconds` (the utterance's length), text that fits the audio at a speaking rate is kept
    as it is: a speaker who says the same thing again ("Could you repeat that?") is heard."""
    said, ctx = _normal(text).split(), _normal(prompt).split()
    if seconds is not None and len(said) <= MAX_WORDS_PER_S * seconds:
        return text
    if len(said) >= min_words and f" {' '.join(said)} " in f" {' '.join(ctx)} ":
        return ""
    tokens = text.split()
    for n in range(min(len(said), len(ctx)), min_words - 1, -1):
        if said[:n] == ctx[-n:] and len(tokens) > n:
            return " ".join(tokens[n:])
    return text


def collapse_repeats(text: str, max_repeats: int = 2) -> str:
    """Cut a phrase that repeats back to back more than `max_repeats` times (a decoding loop)."""
    words = text.split()
    if len(words) < 6:
        return text
    out: list[str] = []
    i = 0
    while i < len(words):
        collapsed = False
        for n in range(1, 9):
            phrase = words[i : i + n]
            if len(phrase) < n:
                break
            reps = 1
            while words[i + reps * n : i + (reps + 1) * n] == phrase:
                reps += 1
            if reps > max_repeats and (n > 1 or reps > 3):
                out.extend(phrase * max_repeats if n > 1 else phrase)
                i += reps * n
                collapsed = True
                break
        if not collapsed:
            out.append(words[i])
            i += 1
    return " ".join(out)
