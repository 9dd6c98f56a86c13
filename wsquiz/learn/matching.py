"""Comparing an answer (or a claim's value) with an observed value, per kind of source.

The rules, documented for authors in docs/authoring.md ("How answers are judged"): numbers are
read generously (digits or words, one number only); text is found alone or inside a sentence,
punctuation between words ignored, case kept where the server sent exact text (a case-only
difference is "nearly") and ignored where the protocol ignores it; class names are matched by
class or base, case ignored; an answer that hedges (two candidates, or a negation) is not right.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from wsquiz.course.quizzes import Question
    from wsquiz.learn.observing import Run

NUMERIC = {"reply_number", "received_count", "connections", "close_code", "handshake_status"}
NAMES = {"closed_by"}
CLOSERS = frozenset({"client", "server", "abnormal"})  # the values of closed_by
NOTHING = {"none", "nothing", "no error", "no exception", "no warning", "no reply", "-", ""}

Match = Literal["yes", "case", "no"]  # "case": right but for the case of the letters


def normalise(text: str) -> str:
    text = " ".join(text.split())
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
        text = text[1:-1].strip()
    return text


def first_number(text: str) -> float | None:
    match = re.search(r"-?\d+(?:\.\d+)?", text)
    return float(match.group(0)) if match else None


# fmt: off
_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
)
# fmt: on
WORD_NUMBERS = {word: index for index, word in enumerate(_WORDS)}
TOO_GENERAL = {"exception", "baseexception", "object"}  # true of any error: no answer at all


def answer_number(text: str) -> float | None:
    """The one number an answer gives, in digits or as a word ("three"); None when it gives
    none, or several different ones ("1000 or 1006" hedges: it is not an answer)."""
    text = re.sub(r"\bHTTP/\d\.\d\b", " ", text, flags=re.IGNORECASE)
    found = {float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?![\d.]*\d)", text)}
    found |= {
        float(WORD_NUMBERS[w]) for w in re.findall(r"[a-z]+", text.casefold()) if w in WORD_NUMBERS
    }
    return found.pop() if len(found) == 1 else None


def without_trailing_stop(text: str) -> str:
    """`'4000 bye'.` -> `4000 bye`: a sentence's full stop is not part of the answer."""
    return normalise(normalise(text).rstrip(".!").rstrip())


def quoted_texts(text: str) -> list[str]:
    return [m[1] for m in re.findall(r"([\"'`])(.*?)\1", text)]


def format_number(number: float) -> str:
    return str(int(number)) if number == int(number) else str(number)


def _is_nothing(text: str | None) -> bool:
    return text is None or normalise(text).casefold().rstrip(".") in NOTHING


def _class_matches(expected: str, run: Run | None, observed: str | None) -> bool:
    """The class named (or a meaningful base of it, as RuntimeError for its subclasses); also
    as Python prints it, `RuntimeError: the message`."""
    named = without_trailing_stop(expected).split(":", 1)[0].strip()
    wanted = named.rstrip("()").rsplit(".", 1)[-1].casefold()
    if run is not None and run.load_error is not None:
        return wanted == (run.load_error_type or "").casefold()
    error = run.first_error if run is not None else None
    if error is None:
        return observed is not None and wanted == observed.casefold()
    if wanted in TOO_GENERAL:
        return wanted == error.type.rsplit(".", 1)[-1].casefold()
    return error.is_a(wanted)


def _split(text: str) -> list[str]:
    return text.split()


# Words a sentence around an answer may use ("it sends back ...", "the ... exception"): any
# other word beside the key makes the answer a different claim ("... hello world"), not a
# sentence stating the key.
# fmt: off
FILLER = frozenset(
    _split(
        """
a an the it its it's they this that there here then so and also just i i'd i'm think guess
you we would will should must be is are was were being been gets get got getting comes come
server client clients endpoint handler app browser websocket connection side
sends send sent sending back replies reply replied answers answer answered responds response
receives receive received echoes echoed gives gave writes wrote gets says say said
shows show shown prints print printed returns return
with of to from as in on at by for first second third last next one message text value
raises raise raised throws throw thrown exception error class type instance an
closes close closed closing code reason status frame header http upgrade request
other others both each every all reports report
"""
    )
)
# Words that end with a colon before the key without labelling it ("it says: hello").
LEAD_INS = frozenset(["says", "said", "sends", "sent", "replies", "back", "is", "was", "gets"])
# fmt: on
HEDGES = frozenset(
    _split("not or nor never neither either maybe perhaps possibly probably unless cannot")
)
_EDGE = ",;:.!?\"'`"


def words(text: str) -> list[str]:
    """The answer's words, punctuation at their edges dropped: `4000, bye` -> 4000, bye."""
    return [w for w in (raw.strip(_EDGE) for raw in text.split()) if w]


def hedged(text: str) -> bool:
    """A negation or a second candidate: "not 1000", "1000 or 1006", "isn't hello"."""
    return any(w.casefold() in HEDGES or w.casefold().endswith("n't") for w in words(text))


def _only_filler(rest: list[str], names: frozenset[str] = frozenset()) -> bool:
    return all(w.casefold() in FILLER or w.casefold() in names for w in rest)


def _text_match(
    expected: str, observed: str, ignore_case: bool, names: frozenset[str] = frozenset()
) -> Match:
    """The observed text stated by the answer, alone or inside a sentence."""
    key, said = words(observed), expected.split()
    if not key:
        return "no"
    plain = [w.strip(_EDGE) for w in said]
    n = len(key)
    for fold in (False, True):
        want = [w.casefold() for w in key] if fold else key
        for i in range(len(plain) - n + 1):
            got = plain[i : i + n]
            if ([w.casefold() for w in got] if fold else got) != want:
                continue
            rest = [w for w in plain[:i] + plain[i + n :] if w]
            # `Message received: hello` does not state `hello`: a label ends with the colon
            label = i > 0 and said[i - 1].endswith(":") and plain[i - 1].casefold() not in LEAD_INS
            others = [
                q
                for q in quoted_texts(expected)
                if normalise(q).casefold() != " ".join(key).casefold()
            ]
            if label or others or hedged(expected) or not _only_filler(rest, names):
                return "no"
            return "yes" if not fold or ignore_case else "case"
    return "no"


def _class_match(expected: str, run: Run | None, observed: str | None) -> bool:
    """One class named, alone or in a sentence ("the WebSocketDisconnect exception",
    "WebSocketDisconnect(1000)"), and no other word but filler."""
    head = without_trailing_stop(expected).split(":", 1)[0].strip()
    if _class_matches(head, run, observed):
        return True
    if hedged(head):
        return False
    names = re.findall(r"[A-Za-z_][\w.]*", head)
    named = [n for n in names if n.casefold() not in FILLER]
    return len(named) == 1 and _class_matches(named[0], run, observed)


def compare(
    source: str,
    expected: str,
    observed: str | None,
    run: Run | None = None,
    ignore_case: bool = False,
    names: frozenset[str] = frozenset(),
) -> Match:
    """Does `expected` (an answer, or a claim's value) state what was observed? "case" when it
    does but for the case of letters the server sent exactly (and `ignore_case` is off).
    `names` (the scenario's clients, casefolded) may be said around the key too."""
    nothing_expected = _is_nothing(expected)
    if source in ("server_error", "warning") and nothing_expected:
        return "yes" if _is_nothing(observed) else "no"
    if source == "server_error":
        return (
            "yes" if not _is_nothing(observed) and _class_match(expected, run, observed) else "no"
        )
    if observed is None:
        return "yes" if nothing_expected else "no"
    if source not in NUMERIC and normalise(expected) == normalise(observed):
        return "yes"  # an empty reply answered with an empty string, or text that reads "none"
    if nothing_expected:
        return "no"
    if source in NUMERIC:
        return "yes" if _number_matches(source, expected, observed) else "no"
    if source in NAMES:
        others = CLOSERS - {observed.casefold()}  # naming another one too is two candidates
        if any(w.casefold() in others for w in words(expected)):
            return "no"
        return "yes" if _text_match(expected, observed, True, names) == "yes" else "no"
    if source == "option":
        return "yes" if letters_of(expected) == letters_of(observed) else "no"
    shown = normalise(observed)
    if without_trailing_stop(expected) == shown:
        return "yes"
    quoted = quoted_texts(expected)  # `bob receives "[r1] hello"`: the one text it quotes
    if len(quoted) == 1 and normalise(quoted[0]) == shown:
        return "yes"
    return _text_match(expected, shown, ignore_case, names)


def _number_matches(source: str, expected: str, observed: str) -> bool:
    if hedged(expected):
        return False
    wanted, seen = answer_number(expected), first_number(observed)
    if source == "handshake_status" and wanted is None:
        said = {w.casefold() for w in words(expected)}
        return (
            bool(said & {"accepted", "open", "upgraded"})
            and _only_filler(
                [w for w in words(expected) if w.casefold() not in {"accepted", "open", "upgraded"}]
            )
            and seen == 101
        )
    return wanted is not None and wanted == seen


def matches(
    source: str,
    expected: str,
    observed: str | None,
    run: Run | None = None,
    ignore_case: bool = False,
) -> bool:
    """`compare` said yes."""
    return compare(source, expected, observed, run, ignore_case) == "yes"


def chosen_letters(question: Question, answer: str) -> frozenset[str] | None:
    """The options an answer picks: by letter, or by the option's own text."""
    wanted = normalise(answer).casefold().rstrip(".")
    for option in question.options:
        if wanted and wanted == normalise(option.text).casefold().rstrip("."):
            return frozenset(option.letter)
    return letters_of(answer)


def letters_of(answer: str) -> frozenset[str] | None:
    """`c`, `C)`, `option C`, `A, C`, `a and c` -> the letters; None if it is not letters."""
    text = re.sub(r"\b(options?|and|or)\b", " ", answer.casefold())
    text = re.sub(r"[\s,;.)(/&+]+", "", text)
    if not text or not text.isalpha() or len(set(text)) != len(text):
        return None
    return frozenset(text.upper())
