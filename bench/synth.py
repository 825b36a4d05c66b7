"""Deterministic synthetic DJ bios for scale benchmarks: combinatorial, seeded, stdlib (and bot.text) only.

Every sentence is built from slots with large invented vocabularies (syllable names, labels,
venues, years, numbers), so two bios rarely share a run of 16 identical words: the copy-index
benchmark relies on unrelated text giving no false positives.

    python -m bench.synth --n 52000 --seed 0 --out /tmp/synth.txt --format corpus
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import sys
from collections.abc import Iterator
from pathlib import Path

from bot.text import END, START  # the corpus file's delimiters

log = logging.getLogger(__name__)

MEAN_CHARS = 1370  # characters of text: 52,000 bios -> ~74 MB of corpus file, like the real one
MIN_CHARS, MAX_CHARS = 100, 5000  # the spread seen in real profiles (characters)
_SIGMA = 0.75  # log-normal spread of bio length
_MU = math.log(MEAN_CHARS) - _SIGMA**2 / 2  # log-normal mean = exp(mu + sigma^2 / 2)


def _pool(s: str) -> list[str]:
    """Split a "|"-separated pool; spaces are kept because they are part of the templates."""
    return [w for w in s.split("|") if w]


_SYL = (
    "ka lo mi ra ven tor sil da mar quo bex nin fa zu rel ost tam vi le dor ash ki pel "
    "rho sen ulm gar tis by ek mon fre lu ix nor pa sha te vo wen yel zi bri cal dro "
    "esk fon hal jor kre lim mos nav ori pru rin sol tre umb var wil xo yar"
).split()
_CITIES = _pool(
    "Berlin|Detroit|Chicago|London|Manchester|Bristol|Glasgow|Leeds|Amsterdam|"
    "Rotterdam|Brussels|Ghent|Paris|Lyon|Marseille|Barcelona|Madrid|Valencia|Lisbon|"
    "Porto|Milan|Turin|Naples|Vienna|Zurich|Geneva|Prague|Warsaw|Krakow|Budapest|"
    "Bucharest|Sofia|Athens|Istanbul|Tbilisi|Kyiv|Riga|Tallinn|Helsinki|Stockholm|"
    "Oslo|Copenhagen|Reykjavik|Dublin|Cork|Montreal|Toronto|Vancouver|New York|"
    "Brooklyn|Philadelphia|Baltimore|Atlanta|Miami|New Orleans|Houston|Austin|Denver|"
    "Seattle|Portland|Oakland|Los Angeles|San Diego|Mexico City|Bogota|Lima|Santiago|"
    "Buenos Aires|Sao Paulo|Rio de Janeiro|Lagos|Accra|Nairobi|Johannesburg|Durban|"
    "Cape Town|Cairo|Tunis|Beirut|Tel Aviv|Dubai|Mumbai|Delhi|Bangalore|Colombo|"
    "Bangkok|Hanoi|Manila|Jakarta|Singapore|Kuala Lumpur|Seoul|Busan|Tokyo|Osaka|"
    "Taipei|Hong Kong|Shanghai|Melbourne|Sydney|Brisbane|Auckland|Wellington"
)
_GENRES = _pool(
    "house|deep house|acid house|tech house|techno|minimal techno|dub techno|"
    "electro|drum & bass|jungle|liquid funk|dubstep|grime|UK garage|2-step|bassline|"
    "footwork|juke|ghetto house|Baltimore club|Jersey club|gqom|amapiano|kuduro|"
    "ambient|downtempo|trip-hop|breakbeat|big beat|trance|progressive trance|"
    "psytrance|hardstyle|gabber|hardcore|happy hardcore|speed garage|Italo disco|"
    "disco|nu-disco|balearic|dub|electronica|IDM|leftfield|industrial|EBM|synthwave|"
    "broken beat|hi-NRG|freestyle|breakcore|vaporwave"
)
_SUFFIX = _pool(
    "Records|Recordings|Audio|Tapes|Music|Sound|Editions|Traxx|Cuts|Wax|Imprint|"
    "Sounds|Label|Discs|Dubplates|Archive|Works|Industries"
)
_VENUE = _pool(
    "the {W} Rooms|Club {W}|{W} Basement|the {W} Warehouse|{W}hall|Studio {W}|"
    "the {W} Lounge|{W} Bar|Kantine {W}|the old {W} depot|{W} Social|the {W} Arches"
)
_FEST = _pool("{W} Festival|{W} Weekender|{W} Open Air|{W}fest|{W} Days|{W} Nights|{W} Sound Week|{W} Gathering")
_CREW = _pool("the {W} crew|{W} Collective|{W} Soundsystem|{W} Family|the {W} kids|{W} Society")
_ADJ = _pool(
    "hypnotic|restless|warm|brittle|swung|heavy|weightless|muscular|dusty|glossy|raw|"
    "bittersweet|tense|sunlit|nocturnal|jagged|rolling|tender|percussive|sly|stark|"
    "lush|wonky|cavernous|melodic|feverish|patient|playful|austere|soulful|grimy"
)
_NOUN = _pool(
    "groove|bassline|pad|loop|kick|sample|chord|drone|break|hook|riff|melody|texture|"
    "rhythm|vocal|synth line|hi-hat|sub|arpeggio|field recording"
)
_GEAR = _pool(
    "an MPC{N}|a battered TR-{N}|a modular case from {W}|two turntables named {W} and {W}|"
    "a {W} four-track|a laptop called {W}|a {W} {N} synth|a sampler borrowed from {X}|"
    "three CDJs and a {W} mixer|a {W} tape echo|a {Y} drum machine"
)
_PLACE = _pool(
    "warehouses|basements|rooftops|car parks|community halls|record shops|"
    "squats|boat parties|forest raves|beach bars|after-hours clubs|youth clubs"
)

# Sentence templates. Slots: {A} the artist, {S}/{O}/{P} pronouns (subject/object/possessive),
# {WAS}/{HAS} agreement, {W} word, {X} person, {L} label, {V} venue, {F} festival, {K} crew,
# {C} city, {Y} year, {N} number, {D} small number, {G} genre, {T} title, {J} adjective, {M} noun, {Q} gear, {Z} places.
_OPEN = _pool(
    "Born in {C} in {Y}, {A} |Raised between {C} and {C}, {A} |{A} |{A} |"
    "Since {Y}, {A} |After {D} years in {C}, {A} |Known to the {Z} of {C}, {A} |"
    "Originally from {C}, {A} |A regular at {V}, {A} |First heard on {R}, {A} |"
    "Ever since {X} handed over a box of {G} records, {A} "
)
_CORE = _pool(
    "has been chasing the {J} side of {G} at {V} with {Q}|"
    "began DJing aged {D} at {W}'s house parties in {C}|played {P} first set at {V} in {Y}|"
    "released a {J} debut EP, {T}, on {L}|co-founded {K} with {X} and {X}|"
    "hosts {R}, a {J} monthly show of {G} and {G}|held a residency at {V} for {D} years|"
    "ran {L} out of a flat above a {W} takeaway|toured {C}, {C} and {C} in {Y}|"
    "remixed {X}, {X} and {W} for {L}|signed {T} to {L} after {X} heard a demo|"
    "built {P} sound on {Q} and a {J} {M}|mixes {G} into {G} without apology|"
    "closed the {F} main stage in {Y}|played {D} hours straight at {V}|"
    "worked the counter at {W} Records in {C} until {Y}|answers to {W} only on Fridays at {V}|"
    "learned {G} from {X}'s {J} mixtapes|cut {N} records for {L} between {Y} and {Y}|"
    "turned a {J} {M} into {T}, the track {X} keeps asking for|"
    "teamed up with {X} as {W} {W} for an album on {L}|"
    "runs a workshop for young producers at {V} every {D} weeks|"
    "studied sound engineering at {W} College in {C} until {Y}"
)
_TAIL = _pool(
    ". |. |. |, alongside {X}. |, mostly on {W} white labels. |, all for {L}. |"
    ", a record {X} still plays. |, on a budget of {N} euros. |"
    " before moving to {C}. |, which {X} called '{J}'. | ({L}, {Y}). "
)
_STANDALONE = _pool(
    "{S} {WAS} last spotted at {V} with {X}. |"
    "Catch {O} at {F}, {C}, this summer. |{P} {T} EP is out now on {L}. |"
    "Bookings for {C} and {C} go through {X} at {W} Agency. |"
    "{S} {HAS} shared bills with {X}, {X}, {W} and {X}. |"
    "Expect {J} {G}, {J} {G} and the odd {W} edit. |"
    '"{T}" spent {D} weeks in the {W} chart in {Y}. |'
    "Residencies: {V} ({C}), {V} ({C}). |Current label: {L}. Previous: {L}, {L}. |"
    "{S} {HAS} made music since {X} lent {O} {Q} in {Y}. |"
    "'{T} is a {M} that feels {J},' {S} told {X} of {W} Magazine in {Y}. |"
    "Fans of {X} and {W} {W} should start with {T}. |"
    "{P} {D}-track album {T} followed on {L} in {Y}. |"
    "{S} {WAS} voted best {G} newcomer by {W} Weekly in {Y}. |"
    "Selected releases: {T} ({L}, {Y}); {T} ({L}, {Y}); {T} ({L}, {Y}). |"
    "Member of {K}. Alias of {X}. |Also records as {W} {W} and {W}. |"
)
_PRONOUNS = {
    "he": ("he", "him", "his", "was", "has"),
    "she": ("she", "her", "her", "was", "has"),
    "they": ("they", "them", "their", "were", "have"),
}
_RADIO = _pool("FM|Radio|Sessions|Hour|Transmissions|Frequencies|Hotline|Show")
_TITLE_WORDS = _pool(
    "Night|Glass|Signal|Tide|Ghost|Velvet|Motor|Neon|Paper|Iron|River|Static|"
    "Honey|Orbit|Salt|Mirror|Lantern|Copper|Fever|Echo|Harbour|Gravity|Smoke"
)
_POOLS = {"V": _VENUE, "F": _FEST, "K": _CREW, "Q": _GEAR}


class _Bio:
    """One bio's random state: the artist, pronouns and slot filling."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.name = self.alias()
        self.pron = _PRONOUNS[rng.choice(("he", "she", "they"))]
        w, p = self.word, self.pron
        self.simple = {
            "A": lambda: self.name,
            "S": lambda: p[0],
            "O": lambda: p[1],
            "P": lambda: p[2],
            "WAS": lambda: p[3],
            "HAS": lambda: p[4],
            "W": w,
            "X": lambda: f"{w()} {w()}",
            "C": lambda: rng.choice(_CITIES),
            "Y": lambda: str(rng.randint(1978, 2025)),
            "N": lambda: str(rng.randint(2, 909)),
            "D": lambda: str(rng.randint(2, 40)),
            "G": lambda: rng.choice(_GENRES),
            "J": lambda: rng.choice(_ADJ),
            "M": lambda: rng.choice(_NOUN),
            "Z": lambda: rng.choice(_PLACE),
            "R": lambda: f"{w()} {rng.choice(_RADIO)}",
            "L": lambda: f"{w()} {rng.choice(_SUFFIX)}",
            "T": self.title,
        }

    def word(self) -> str:
        """An invented word of 2-3 syllables, e.g. 'Venmaro'."""
        return "".join(self.rng.choices(_SYL, k=self.rng.randint(2, 3))).capitalize()

    def alias(self) -> str:
        """An invented artist name in one of several shapes."""
        r, w = self.rng.random(), self.word
        if r < 0.3:
            return f"{w()} {w()}"
        if r < 0.45:
            return f"DJ {w()}"
        if r < 0.6:
            return f"{w()} & {w()}"
        if r < 0.7:
            return f"{w()}{self.rng.randint(2, 99)}"
        return w()

    def fill(self, tpl: str) -> str:
        """Replace every {slot} in a template with a fresh random value."""
        out, i = [], 0
        while (j := tpl.find("{", i)) >= 0:
            k = tpl.index("}", j)
            out.append(tpl[i:j])
            out.append(self.slot(tpl[j + 1 : k]))
            i = k + 1
        out.append(tpl[i:])
        return "".join(out)

    def slot(self, key: str) -> str:
        """One value for a slot name."""
        if key in self.simple:
            return self.simple[key]()
        return self.fill(self.rng.choice(_POOLS[key]))

    def title(self) -> str:
        """A track or record title: invented and dictionary words mixed."""
        parts = [
            self.word() if self.rng.random() < 0.5 else self.rng.choice(_TITLE_WORDS)
            for _ in range(self.rng.randint(1, 3))
        ]
        return " ".join(parts)

    def sentence(self) -> str:
        """One sentence: opener + core + tail, or a standalone line."""
        if self.rng.random() < 0.35:
            s = self.fill(self.rng.choice(_STANDALONE))
        else:
            s = self.fill(self.rng.choice(_OPEN) + self.rng.choice(_CORE) + self.rng.choice(_TAIL))
        return s[0].upper() + s[1:]

    def text(self, target: int) -> str:
        """Sentences grouped into paragraphs until the text reaches about `target` characters."""
        paras, cur, size = [], [], 0
        while size < target:
            s = self.sentence()
            cur.append(s)
            size += len(s)
            if len(cur) >= self.rng.randint(3, 7):
                paras.append("".join(cur).strip())
                cur = []
        if cur:
            paras.append("".join(cur).strip())
        text = "\n\n".join(paras)
        if len(text) > MAX_CHARS:  # cut at the last sentence end that fits
            text = text[: text.rfind(". ", 0, MAX_CHARS) + 1]
        return text.strip()


def _target_length(rng: random.Random) -> int:
    """A bio length in characters from a clamped log-normal distribution."""
    return int(min(MAX_CHARS, max(MIN_CHARS, rng.lognormvariate(_MU, _SIGMA))))


def synth_bios(n: int, seed: int = 0) -> Iterator[dict]:
    """Yield `n` synthetic bios {"name", "text"}; the same seed gives the same bios."""
    rng = random.Random(seed)
    for _ in range(n):
        bio = _Bio(rng)
        yield {"name": bio.name, "text": bio.text(_target_length(rng))}


def write_synth(out: Path, n: int, seed: int = 0, fmt: str = "jsonl") -> int:
    """Write `n` bios to `out` as jsonl or corpus format; return the bytes written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        for bio in synth_bios(n, seed):
            if fmt == "corpus":
                f.write(f"{START}{bio['text']}{END}\n")
            else:
                f.write(json.dumps(bio, ensure_ascii=False) + "\n")
    return out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    """CLI: python -m bench.synth --n 52000 --seed 0 --out PATH [--format jsonl|corpus]."""
    p = argparse.ArgumentParser(
        prog="python -m bench.synth", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--n", type=int, default=52000, help="number of bios (default 52000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", type=Path, required=True, help="output file")
    p.add_argument(
        "--format",
        choices=("jsonl", "corpus"),
        default="jsonl",
        help="jsonl: {name, text} per line; corpus: <|startoftext|>bio<|endoftext|>",
    )
    a = p.parse_args(argv)
    size = write_synth(a.out, a.n, a.seed, a.format)
    print(f"wrote {a.n} bios, {size / 1e6:.1f} MB, to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
