"""Compose fictional DJ bios from the team's sentence patterns and word lists: plain, grammatical, seeded.

The demo's small model learns from a few thousand hand-written bios, too few to learn English grammar
from scratch (bench/RESULTS.md, "What the demo's followers would see"). These composed bios give it many
more plain sentences to learn from: every sentence pattern below and every word list was written by the
team; the composer only picks and fills them. Every person, venue, party and label is invented; cities
and genres are real. Names are left out of the records' "name" field: they are combinations of common
first names and surnames, not artists, so the real-artist guard has nothing to protect there.

    python scripts/compose_bios.py --n 8000 --seed 7 --out demo/data/composed.jsonl   # as demo.sh does
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Callable
from pathlib import Path

W = str.split  # word lists below are written one string each, split on whitespace or "|"


def P(s: str) -> list[str]:
    """A "|"-separated list."""
    return [x.strip() for x in s.split("|") if x.strip()]


FIRST = W(
    "Ada Adele Ahmed Aiko Akua Alba Alek Amara Amir Ana Anders Anika Anton Ari Arjun Asha Aurelio Ayo Bea Ben "
    "Bianca Bo Bruno Caio Cara Carlos Chidi Chloe Clara Cyrus Dara Daniel Dario Dev Diego Dina Ebo Eda Edie "
    "Elena Eli Elif Emil Emma Enzo Erin Esme Esra Ezra Farah Felix Femi Fern Finn Flora Gael Gemma Gia Hana "
    "Hari Hedda Hugo Ida Ifeoma Ilse Imani Ines Ira Isaac Ivo Jae Jalen Jana Javi Jaya Jens Joao Jonas Jude "
    "Kai Kalani Kamal Kemi Kenji Kira Kofi Lale Lars Leila Lena Leo Lina Lior Lola Luca Lucia Luis Maeve "
    "Maja Malik Mara Marco Marta Mateo Maya Mei Mila Milo Mina Nadia Nia Niko Nils Noa Nora Obi Olga Omar "
    "Oona Orla Oscar Otto Paolo Petra Pia Priya Quinn Rafa Rami Ravi Remi Rhea Rio Rosa Ruben Rui Sade Sam "
    "Sana Sara Selin Sina Sofia Suki Sven Tala Tariq Tess Theo Tomas Tove Uma Vera Vik Wren Yara Yuki Yusuf "
    "Zane Zara Zoe"
)
LAST = W(
    "Abara Adler Alvarez Amato Andersen Arnaud Asante Bakker Banerjee Barros Becker Bellamy Berg Blom Boateng "
    "Brandt Castro Chandra Costa Dalton Delacroix Diallo Diaz Dumont Duarte Eklund Ekwueme Falk Farouk Ferrer "
    "Fischer Fonseca Garcia Gray Haddad Halden Hartmann Herrera Holt Ibrahim Iqbal Jansen Jensen Kaplan Kato "
    "Keller Khan Kimura Koch Kovac Kruger Lambert Larsen Laurent Lindberg Lopez Lund Madsen Mahler Marin Meyer "
    "Mendes Mensah Molina Morales Moreau Mori Murray Nakamura Navarro Ndiaye Nielsen Novak Nowak Nunes Obi "
    "Okafor Oliveira Olsen Ortega Osei Pardo Park Pereira Petrov Quint Ramos Reyes Richter Rivera Rocha Rossi "
    "Saar Sahin Santos Sato Schulz Serrano Shah Silva Sousa Stein Strand Suzuki Tanaka Torres Vance Varga "
    "Vidal Vogel Wagner Weiss Wolf Yilmaz Young Zeller Zhou"
)
CITIES = P(
    "Lagos|Accra|Nairobi|Dakar|Cairo|Tunis|Casablanca|Johannesburg|Durban|Cape Town|Kampala|Addis Ababa|"
    "Berlin|Hamburg|Leipzig|Cologne|Munich|Vienna|Zurich|Amsterdam|Rotterdam|Brussels|Antwerp|Paris|Lyon|"
    "Marseille|Bordeaux|London|Bristol|Manchester|Leeds|Glasgow|Edinburgh|Dublin|Cork|Belfast|Lisbon|Porto|"
    "Madrid|Barcelona|Valencia|Seville|Milan|Turin|Naples|Rome|Athens|Istanbul|Tbilisi|Warsaw|Krakow|Prague|"
    "Budapest|Bucharest|Sofia|Belgrade|Zagreb|Riga|Tallinn|Helsinki|Stockholm|Gothenburg|Oslo|Bergen|"
    "Copenhagen|Reykjavik|Montreal|Toronto|Vancouver|New York|Chicago|Detroit|Atlanta|Houston|Austin|"
    "New Orleans|Miami|Los Angeles|Seattle|Portland|Denver|Mexico City|Guadalajara|Bogota|Medellin|Lima|"
    "Quito|Santiago|Buenos Aires|Montevideo|Sao Paulo|Rio de Janeiro|Salvador|Havana|San Juan|Kingston|"
    "Port of Spain|Mumbai|Delhi|Bangalore|Kolkata|Colombo|Karachi|Dhaka|Bangkok|Hanoi|Manila|Jakarta|"
    "Singapore|Kuala Lumpur|Seoul|Busan|Tokyo|Osaka|Taipei|Hong Kong|Shanghai|Melbourne|Sydney|Auckland"
)
REGIONS = P(
    "Europe|West Africa|South Africa|Scandinavia|the UK|Ireland|Germany|France|Spain|Italy|Brazil|"
    "Latin America|North America|Canada|Japan|Southeast Asia|the Balkans|the Baltic states|East Africa"
)
GENRES = P(
    "house|deep house|acid house|techno|dub techno|minimal techno|electro|drum & bass|jungle|dubstep|"
    "UK garage|grime|footwork|ghetto house|gqom|amapiano|Afro house|Afrobeats|highlife|kuduro|ambient|"
    "downtempo|trip hop|breakbeat|trance|disco|Italo disco|boogie|funk|soul|Balearic|dub|reggae|dancehall|"
    "cumbia|baile funk|hardcore|gabber|synth-pop|new wave|EBM|industrial|jazz|broken beat|bassline"
)
ADJ = W(
    "warm slow fast heavy bright dark dusty deep loud quiet playful patient hypnotic joyful rough smooth "
    "bouncy gentle moody sunny strange simple"
)
WORD = W(
    "Velvet Lantern Harbour Copper Willow Ember Marble Cobalt Orchid Meadow Falcon Pebble Saffron Thistle "
    "Juniper Amber Hollow Signal Tidal Static Lotus Cedar Raven Indigo Coral Ivory Nova Atlas Canary Maple "
    "Drift Echo Sable Comet Basalt Fable Harvest Lagoon Magpie Quarry"
)
NOUN = W("Room Rooms Social Club Bar Hall Cellar Lounge House Yard Garden")
LABEL_END = W("Records Tapes Audio Sounds Editions Recordings Music")
OLD_PLACE = P(
    "an old cinema|a former bakery|an old textile mill|a disused church|an old boathouse|a former "
    "bank|an old warehouse by the river|a former printing works|an old swimming pool|a converted garage|"
    "a railway arch|a basement under a bookshop|an old fire station|a former tram depot"
)
WHERE = P(
    "a bar near the harbour|a small club near the station|a rooftop bar in the city centre|a cafe by the "
    "river|a basement bar in the old town|a beach bar outside the city|a record shop on a busy street"
)
FREQ = W("weekly monthly")
DAYS = W("Monday Tuesday Wednesday Thursday Friday Saturday Sunday")
RELATIVES = W("mother father uncle aunt grandmother grandfather brother sister cousin")
JOBS = P(
    "nurse|teacher|bike courier|chef|bus driver|carpenter|librarian|sound engineer|baker|web developer|"
    "painter|lab technician|florist|barista"
)
NUMS = W("two three four five six seven eight nine ten twelve fifteen twenty")
TITLES = P(
    "Night Bus|Harbour Lights|Slow Motion|Second Summer|Open Water|Long Weekend|Paper Moon|Low Tide|"
    "Last Train|Blue Hour|Small Hours|Warm Rain|Glass House|Quiet Storm|City Lights|Salt Water|Sunday Best|"
    "Green Light|High Street|North Star|Morning Glory|Stone Steps|Wild Honey|Golden Age"
)
SOUNDS = P(
    "old drum machines|field recordings of the sea|soft piano chords|chopped-up vocals|long, rolling "
    "basslines|samples from old radio shows|live percussion|cheap synths and a lot of reverb|recordings of "
    "street markets|the sound of trains"
)
GEAR = P(
    "a borrowed laptop|a pair of second-hand turntables|a cheap controller|{P} {REL}'s old turntables|"
    "an old drum machine from a flea market|the decks at a youth club"
)
EVENTS = P(
    "school parties|house parties|a friend's birthday party|a youth club|a student bar|family weddings|"
    "a pirate radio station|a local record shop"
)

PRONOUNS = {  # subject, object, possessive, be, have, third person singular
    "he": ("he", "him", "his", "is", "has", True),
    "she": ("she", "her", "her", "is", "has", True),
    "they": ("they", "them", "their", "are", "have", False),
    "I": ("I", "me", "my", "am", "have", False),
}
THIRD = [
    "{N} is a {C} DJ who {V:play} {G}.",
    "{N} is a DJ from {C} who {V:play} {G}.",
    "{N} is a {C} producer who {V:make} {A} {g}.",
    "{N} is a DJ and producer from {C}.",
    "{N} {V:play} {G} in {C}.",
    "Based in {C}, {N} {V:make} {A}, {A2} {g}.",
    "Born in {C} in {BY}, {N} {V:play} {G}.",
    "{C} DJ {N} {HAVE} played {G} since {Y}.",
    "{N} (born {BY}, {C}) {BE} a producer who {V:make} {G}.",
    "For {NUM} years, {N} {HAVE} played {G} in {C}.",
]
FIRST_PERSON = [
    "I'm {N}, a DJ from {C}. I play {G}.",
    "I'm {F}, and I play {G} in {C}.",
    "I'm a DJ from {C}, and I play {G}.",
    "I make {A} {g} in {C}.",
    "I've been playing {G} in {C} since {Y}.",
    "I'm {N}, a producer from {C}.",
]
MIDDLE = [
    "{S} {V:run} a {FREQ} party called {PARTY} at {WHERE}.",
    "{S} {BE} a resident at the {VENUE} in {C}.",
    "{S} started DJing at {EVENT} and now {V:play} at clubs across {REGION}.",
    '{PP} first EP, "{T}", came out on {LABEL} in {RY}.',
    "{PP} sets are {A}, {A2} and {A3}.",
    "{S} grew up listening to {P} {REL}'s {g} records.",
    "{S} learned to mix on {GEAR}.",
    "{S} also {V:run} a small label called {LABEL}.",
    "{S} {V:work} as a {JOB} during the week and {V:play} at {WHERE} on weekends.",
    "{S} {V:play} every {DAY} at the {VENUE}.",
    "{PP} tracks are built around {SOUND}.",
    "{S} {HAVE} released {NUM} EPs on {LABEL}.",
    "{PP} {FREQ} party, {PARTY}, takes place in {OLD}.",
    "{S} {BE} known for long sets that start slow and end fast.",
    "{S} {V:host} a {FREQ} show on a community radio station.",
    '{PP} first album, "{T}", was recorded in {OLD}.',
    "Every summer {s} {V:play} sunrise sets on a beach near {C}.",
    "{S} {V:own} more than {NUM} thousand records.",
    "{S} moved to {C2} in {Y} and never left.",
    "{S} {V:teach} young people to DJ at a youth centre in {C}.",
    "{S} {V:mix} {g} with {g2} and a bit of {g3}.",
    "{PP} live shows feature a drummer as well as {SOUND}.",
    "{S} {V:play} {g} records at the start of every set.",
]
VERB_S = {"have": "has", "mix": "mixes", "teach": "teaches"}


class Composer:
    """One seeded source of bios."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def pick(self, xs: list[str]) -> str:
        """One item."""
        return self.rng.choice(xs)

    def genres(self) -> str:
        """One to three distinct genres as an English list."""
        g = self.rng.sample(GENRES, self.rng.choice((1, 2, 2, 3, 3)))
        return g[0] if len(g) == 1 else ", ".join(g[:-1]) + " and " + g[-1]

    def bio(self) -> str:
        """One bio of one to five sentences."""
        r = self.rng
        who = r.choices(("he", "she", "they", "I"), weights=(3, 3, 3, 2))[0]
        first, last = self.pick(FIRST), self.pick(LAST)
        subj, obj, poss, be, have, third = PRONOUNS[who]
        fixed = {
            "N": f"{first} {last}",
            "F": first,
            "C": self.pick(CITIES),
            "BE": be,
            "HAVE": have,
            "S": subj,
            "P": poss,
        }
        sentences = [self.pick(FIRST_PERSON if who == "I" else THIRD)]
        n_middle = r.choices((0, 1, 2, 3, 4), weights=(2, 5, 5, 3, 1))[0]
        sentences += r.sample(MIDDLE, n_middle)
        named = {**fixed, "BE": "is", "HAVE": "has"}  # the opening's subject is the name: singular
        text = " ".join(
            self.fill(s, named if i == 0 and who != "I" else fixed, third or (i == 0 and who != "I"))
            for i, s in enumerate(sentences)
        )
        return _tidy(text, who)

    def fill(self, template: str, fixed: dict[str, str], third: bool) -> str:
        """Fill one sentence's slots; the first word is capitalised."""
        g = self.rng.sample(GENRES, 3)
        a = self.rng.sample(ADJ, 3)
        slots: dict[str, Callable[[], str]] = {
            "G": self.genres,
            "g": lambda: g[0],
            "g2": lambda: g[1],
            "g3": lambda: g[2],
            "A": lambda: a[0],
            "A2": lambda: a[1],
            "A3": lambda: a[2],
            "Y": lambda: str(self.rng.randint(1995, 2021)),  # moved, played since
            "RY": lambda: str(self.rng.randint(2008, 2023)),  # a release
            "BY": lambda: str(self.rng.randint(1968, 2001)),  # born
            "NUM": lambda: self.pick(NUMS),
            "C2": lambda: self.pick(CITIES),
            "REGION": lambda: self.pick(REGIONS),
            "FREQ": lambda: self.pick(FREQ),
            "DAY": lambda: self.pick(DAYS),
            "REL": lambda: self.pick(RELATIVES),
            "JOB": lambda: self.pick(JOBS),
            "T": lambda: self.pick(TITLES),
            "SOUND": lambda: self.pick(SOUNDS),
            "EVENT": lambda: self.pick(EVENTS),
            "OLD": lambda: self.pick(OLD_PLACE),
            "WHERE": lambda: self.pick(WHERE),
            "GEAR": lambda: self.pick(GEAR).replace("{P}", fixed["P"]).replace("{REL}", self.pick(RELATIVES)),
            "PARTY": lambda: f"{self.pick(WORD)} {self.pick(WORD)}" if self.rng.random() < 0.5 else self.pick(WORD),
            "VENUE": lambda: f"{self.pick(WORD)} {self.pick(NOUN)}",
            "LABEL": lambda: f"{self.pick(WORD)} {self.pick(LABEL_END)}",
            "PP": lambda: fixed["P"].capitalize() if fixed["P"] != "my" else "My",
            "s": lambda: fixed["S"],
        }

        def sub(m: re.Match[str]) -> str:
            key = m.group(1)
            if key.startswith("V:"):
                verb = key[2:]
                return VERB_S.get(verb, verb + "s") if third else verb
            if key in slots:
                return slots[key]()
            return fixed[key]

        out = re.sub(r"\{([A-Za-z0-9:]+)\}", sub, template)
        return out[0].upper() + out[1:]


def _tidy(text: str, who: str) -> str:
    """First person contractions, as people write them."""
    if who == "I":
        text = text.replace("I am ", "I'm ").replace("I have ", "I've ")
    return re.sub(r"\s+", " ", text).strip()


def main() -> None:
    """Write --n composed bios as JSON lines {"name": "", "text": ...}."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=8000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    c = Composer(args.seed)
    seen: set[str] = set()
    with args.out.open("w", encoding="utf-8") as f:
        while len(seen) < args.n:
            text = c.bio()
            if text not in seen:
                seen.add(text)
                f.write(json.dumps({"name": "", "text": text}, ensure_ascii=False) + "\n")
    print(f"wrote {len(seen)} composed bios to {args.out}")


if __name__ == "__main__":
    main()
