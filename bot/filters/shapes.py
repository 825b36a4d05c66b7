"""The seed's failure shapes: a list that names one item twice, and pronouns that switch subject.

The blog post this bot comes from shows GPT-2 naming one country twice in a list. A list hides in
longer sentences ("Born in Lyon, she has played in France, Germany, Spain and France, and now lives
in Berlin."), so `list_repeats` reads every comma/and/or/slash piece of a clause: the pieces between
two others are list items when they are short; the pieces at either end only lend their tail or
head ("... played in France" -> "France"), and a short piece between may lend its head when the
list names it elsewhere ("France, Belgium and France over the years, and ..."). Pronouns are
counted for the bio's subject only: a pronoun that matches another person just introduced ("her
father, who ran his own label") is that person's, not a mix.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass

from bot.filters.fluency import zipf
from bot.text import PRONOUNS, WORD, normalise

log = logging.getLogger(__name__)

MAX_ITEM_WORDS = 4  # a list item is a name of at most 4 words ("Tresor Records", "the Netherlands")
# Clause boundaries: a list never crosses a sentence end, a colon, a bracket or a dash.
_CLAUSE = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+|[:()\[\]]|\s[—–-]\s|—")
_PIECE = re.compile(r"\s*[,;]\s*|\s+(?:and/or|and|or|&|nor|plus)\s+|\s*(?<!\d)/(?!\d)\s*", re.IGNORECASE)  # not 7/8
_LEAD = frozenset("and or & the a an plus nor".split())  # dropped from the start of an item
_STOP = frozenset(
    """
        on in at of to for with by from a an the he she they it his her their was is and or then so too
        also more now still later again here there up out off down back very really much even ever long
    """.split()
)  # "very, very warm" is emphasis, not a list
# Words that make a piece a clause, not a list item: pronouns, auxiliaries, relatives.
_CLAUSE_WORDS = frozenset(
    """
        he she they i we it his her their my is was has had have are were be been does did will would
        can who which that where when while
    """.split()
)
# Words before a list's first item or after its last: "played in France", "Netherlands in May",
# "mix disco, ...": prepositions and the verbs bios put before a list (base forms; "plays" is caught
# by its -s).
_OPENERS = _STOP | frozenset(
    """
        play mix spin blend fuse love make produce release tour visit hear expect include combine cover
        favour favor span toured played across through including like between into as such around
        throughout via over under than where when while before after during since until both either
        every all each
    """.split()
)


def _items(piece: str) -> list[tuple[str, str]]:
    """(normalised, as written) words of one piece, without a leading conjunction or article."""
    raw = WORD.findall(piece)
    words = list(zip(normalise(raw), raw))
    while words and words[0][0] in _LEAD:
        words = words[1:]
    return words


def _continues(word: tuple[str, str], item: tuple[str, str]) -> bool:
    """Whether `word` beside an end's match is part of the same name ("chutney soca", "New York")."""
    (w, w_raw), (_, i_raw) = word, item
    if w in _OPENERS:
        return False  # "played in France"
    if w_raw[0].isupper():
        return True  # "New York", "Detroit techno"
    return not i_raw[0].isupper() and not w.endswith(("s", "ed", "ing"))  # "plays techno": a verb


def _ends(words: list[tuple[str, str]], tail: bool) -> set[str]:
    """The last (tail) or first 1..4 words of an end piece that can stand as a list item alone."""
    out = set()
    for k in range(1, min(len(words), MAX_ITEM_WORDS) + 1):
        gram = words[-k:] if tail else words[:k]
        if k < len(words) and _continues(words[-k - 1] if tail else words[k], gram[0] if tail else gram[-1]):
            continue
        g = [w for w, _ in gram]
        out.add(" ".join(g[1:] if g[0] in _LEAD and len(g) > 1 else g))
    return out


def _is_item(piece: list[tuple[str, str]]) -> bool:
    """A piece that can be a list item: short and no clause ("Tove has toured Chile" is a clause)."""
    return len(piece) <= MAX_ITEM_WORDS and not any(w in _CLAUSE_WORDS for w, _ in piece)


def _clause_repeats(clause: str) -> Counter[str]:
    """Counts of each item named more than once in any list of one clause."""
    pieces = [p for p in (_items(x) for x in _PIECE.split(clause)) if p]
    best: Counter[str] = Counter()
    start = 0
    for i in range(1, len(pieces) + 1):  # runs of short pieces, bounded by long ones or the ends
        if i < len(pieces) and _is_item(pieces[i]):
            continue
        run = pieces[start : i + 1]
        start = i
        mid = [" ".join(w for w, _ in p) for p in run[1:-1]]
        if not mid:
            continue
        before, after = _ends(run[0], tail=True), _ends(run[-1], tail=False)  # "played in France"
        counts = Counter(m for m in mid if m not in _STOP)
        # A short piece may be an item and the words after it ("France over the years, and she
        # ..."): the name at its start counts when a whole item or the first piece's tail names it
        # too; two pieces' starts alone ("mostly on vinyl, mostly at night") are asides, not a list.
        heads = Counter(h for p, m in zip(run[1:-1], mid) for h in _ends(p, tail=False) - {m} - _STOP)
        for h, n in heads.items():
            if h in counts or h in before:
                counts[h] += n
        for m in list(counts):
            counts[m] += (m in before) + (m in after)
        for m in (before & after) - _STOP:
            counts[m] = max(counts[m], 2)
        best |= counts
    return best


def list_repeats(text: str) -> tuple[str, int]:
    """The item named most often within one list of a clause, and how often ("", 0 when none)."""
    best = ("", 0)
    for clause in _CLAUSE.split(text):
        if clause and clause.strip():
            c = _clause_repeats(clause)
            if c:
                best = max(best, c.most_common(1)[0], key=lambda t: t[1])
    return best


# ---- pronouns ---------------------------------------------------------------------------------

FAMILIES = PRONOUNS
_FAMILY_OF = {w: fam for fam, forms in FAMILIES.items() for w in forms}
_ANY = frozenset(FAMILIES)
# Other people a bio mentions, with the pronoun family they take ("_ANY": he, she or they).
_KIN = {
    **dict.fromkeys(
        """
            father dad grandfather grandad granddad grandpa uncle brother son husband boyfriend nephew
            stepfather stepdad man boy guy godfather
        """.split(),
        frozenset({"he"}),
    ),
    **dict.fromkeys(
        """
            mother mum mom grandmother gran grandma nan aunt auntie sister daughter wife girlfriend
            niece stepmother woman girl godmother
        """.split(),
        frozenset({"she"}),
    ),
    **dict.fromkeys(
        """
            parents family friends band crew collective duo trio bandmates brothers sisters cousins
            grandparents neighbours neighbors kids children promoters owners crowd audience
        """.split(),
        frozenset({"they"}),
    ),
}
_ROLE = dict.fromkeys(
    """
        partner cousin friend mentor teacher tutor neighbour neighbor boss flatmate housemate roommate
        bandmate collaborator manager landlord landlady sibling child kid spouse colleague hero idol
        producer dj singer vocalist rapper mc engineer owner promoter drummer guitarist pianist selector
    """.split(),
    _ANY,
)
_POSSESSIVE = {"his", "her", "their", "whose", "my", "its"}
_POSSESSIVE_FORMS = {"his", "her", "hers", "their", "theirs"}  # all an ungendered other may claim
_DETERMINER = {"a", "an", "the", "one", "another"}


@dataclass(frozen=True)
class _Token:
    word: str  # normalised
    raw: str  # as written
    sent: int  # sentence number


def _tokens(text: str) -> list[_Token]:
    """Words with their sentence numbers (sentences split at . ! ? and semicolons' clauses kept)."""
    out = []
    for n, sent in enumerate(re.split(r"(?<=[.!?…])[\"'”’)]*\s+", text)):
        for raw in WORD.findall(sent):
            out.append(_Token(normalise([raw])[0], raw, n))
    return out


def _introduces(toks: list[_Token], i: int, subject: set[str]) -> frozenset[str] | None:
    """The families another person mentioned at token i takes, or None when i names nobody else."""
    t = toks[i]
    prev = [toks[j].word for j in range(max(0, i - 4), i) if toks[j].sent == t.sent]
    if t.word in _KIN or t.word in _ROLE:
        fams = _KIN.get(t.word) or _ROLE[t.word]
        owned = any(w in _POSSESSIVE or w in subject for w in prev)  # "her late father", "Kai's mentor"
        if owned or (t.word in _KIN and any(w in _DETERMINER for w in prev[-2:])):  # "an uncle", not "a DJ"
            return fams
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if nxt and nxt.sent == t.sent and nxt.raw[0].isupper() and nxt.word not in subject:
            return fams  # "producer Anna Li", "her friend Tomasz"
        return None
    if t.raw[0].isupper() and t.word not in subject and i > 0 and toks[i - 1].sent == t.sent:
        after = toks[i + 1].word if i + 1 < len(toks) and toks[i + 1].sent == t.sent else ""
        if after == "who":
            return _ANY  # "... met Tomasz, who gave her his old decks"
    return None


def subject_pronouns(text: str, wanted: str | None = None, name: str = "") -> dict[str, int]:
    """Pronoun counts per family (he/she/they) that refer to the bio's subject, not to others.

    The subject's family is `wanted`, else that of the first pronoun that no other person claims.
    A pronoun of another family is someone else's when a person of that family was introduced
    earlier in the same or the previous sentence: a possessive or article before a kin or role noun
    ("her grandfather", "an uncle", "their friend"), a role before a name ("mentor Tomasz Wolny"),
    or a name followed by "who". Everything else counts, so a real switch ("She ... He ...") shows.
    """
    toks = _tokens(text)
    subject = {w for w in normalise(WORD.findall(name))} or _opening_name(toks)
    counts = dict.fromkeys(FAMILIES, 0)
    fam_subject = wanted
    others: list[tuple[int, frozenset[str]]] = []  # (sentence, families) of other people so far
    for i, t in enumerate(toks):
        intro = _introduces(toks, i, subject)
        if intro:
            others.append((t.sent, intro))
        fam = _FAMILY_OF.get(t.word)
        if fam is None:
            continue
        claimed = any(
            fam in fams and (t.sent - s <= 1 if len(fams) == 1 else t.sent == s and t.word in _POSSESSIVE_FORMS)
            for s, fams in others
        )
        if fam == "they" and fam_subject != "they" and _plural_before(toks, i):
            claimed = True  # "she plays records and sells them"
        if fam_subject is None and not claimed:
            fam_subject = fam
        if fam == fam_subject or not claimed:
            counts[fam] += 1
    return counts


def _opening_name(toks: list[_Token]) -> set[str]:
    """The capitalised words a bio opens with ("Marisol Okafor Brandt is ..."), as the subject."""
    out = set()
    for t in toks[:4]:
        if not t.raw[0].isupper() or t.sent or t.word in _FAMILY_OF or t.word in _OPENERS:
            break
        out.add(t.word)
    return out


_NOT_PLURAL = frozenset(
    """
        his hers its this was is has does us as yes thus plus bus less across always perhaps various
        famous serious whereas besides sometimes nowadays afterwards towards news bass
    """.split()
)
_PLURAL = frozenset(
    """
        people both all many others everyone everybody crowd folk men women children kids regulars those
        these some several few
    """.split()
)


def _plural_before(toks: list[_Token], i: int) -> bool:
    """A plural noun earlier in this sentence ("records ... sells them"), or in the one before for
    "them" ("... seven-inches. I scratched them."): "They are DJs now." after "records." still counts."""
    t = toks[i]
    for j in range(i - 1, -1, -1):
        u = toks[j]
        if t.sent - u.sent > (1 if t.word in ("them", "themselves") else 0):
            return False
        if u.word in _PLURAL:
            return True
        acronym = u.raw[:-1].isupper() and len(u.raw) > 2  # "DJs", "EPs", "CDs"
        if (
            u.word.endswith("s")
            and (u.raw.islower() or acronym)
            and len(u.word) > 3
            and not u.word.endswith(("ss", "ous"))
            and u.word not in _NOT_PLURAL
        ):
            return True
    return False


def pronoun_mix(counts: dict[str, int], wanted: str | None = None) -> list[str]:
    """Families used besides `wanted`, or ["he", "she"] when both appear and nothing is wanted."""
    used = [f for f in ("he", "she", "they") if counts.get(f)]
    if wanted:
        return [f for f in used if f != wanted]
    return ["he", "she"] if counts.get("he") and counts.get("she") else []


STUTTER_ZIPF = 4.0  # only common words: "the the", "old old"; "jab jab" (soca) and "tuk tuk" are words
_DOUBLE = re.compile(r"\b([a-z]+)\s+\1\b")


def stutters(text: str) -> list[str]:
    """Common lowercase words written twice in a row: a sampling stutter, not reduplication."""
    return [m.group(1) for m in _DOUBLE.finditer(text) if zipf(m.group(1)) >= STUTTER_ZIPF]
