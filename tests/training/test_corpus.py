"""training/corpus: inputs, filters, dedupe, deterministic output, stats, gpt-2-simple's loader."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from bot.config import Config, CorpusConfig
from bot.errors import InputError
from bot.text import read_bios as read_corpus
from bot.text import words as words_of
from training.corpus.build import build_corpus, in_validation
from training.corpus.dedup import NearDupIndex
from training.corpus.stats import corpus_stats, format_stats, pronoun_family
from training.scrape import crawl

ROOT = Path(__file__).resolve().parents[2]
BIOS = [
    "Marlo Finch is a DJ and producer from Glasgow who has played warehouse parties since 2009. He runs the "
    "label Thistle Tone and his records mix acid lines with the melancholy of old Scottish folk tunes.",
    "Based in Lisbon, Ayla Verde spins Afro-house and kuduro for anyone who will dance. She started on pirate "
    "radio, and now her monthly residency at a club by the river sells out within the hour.",
    "DJ Copperplate has been a fixture of the Detroit scene for two decades. They release on their own imprint, "
    "Rust Belt Dubs, and their sets are long, patient journeys through techno and deep house.",
    "Felix Oduya makes broken beat in a bedroom studio in south London. His debut EP on the label Night Bus "
    "Tapes was picked up by late-night radio shows, and he now tours with a live band of four friends.",
    "Priya Sol grew up between Mumbai and Manchester, and you can hear both cities in her sets: garage, "
    "bhangra edits and rolling drum and bass, stitched together with a lot of care and a little chaos.",
    "Kestrel Moon is the alias of a former school teacher from Cork who fell for jungle at the age of forty. "
    "He plays vinyl only, hosts a show on community radio and has released three records so far.",
]
GERMAN = (
    "Jonas Kerber ist ein DJ und Produzent aus Hamburg. Seit vielen Jahren legt er in den Clubs der Stadt "
    "auf und veröffentlicht seine Platten auf dem eigenen Label, das er mit Freunden gegründet hat."
)
SPANISH = (
    "Marta Lobo es una DJ y productora de Sevilla. Desde hace diez años pincha en los clubes de la ciudad "
    "y publica sus discos en un sello pequeño que fundó con dos amigas de la universidad."
)


def cfg_for(tmp_path: Path, **corpus: object) -> Config:
    """A Config whose corpus lives in tmp_path."""
    return Config(corpus=dataclasses.replace(CorpusConfig(path=tmp_path / "corpus.txt"), **corpus))


def write_jsonl(path: Path, texts: list[str], field: str = "text") -> Path:
    """A .jsonl input of {"name", field} records."""
    path.write_text(
        "".join(json.dumps({"name": f"artist {i}", field: t}) + "\n" for i, t in enumerate(texts)), encoding="utf-8"
    )
    return path


def manifest(out: Path) -> list[dict]:
    """The manifest beside a corpus file."""
    return [json.loads(x) for x in out.with_suffix(".manifest.jsonl").read_text(encoding="utf-8").splitlines()]


def build(tmp_path: Path, texts: list[str], **corpus: object) -> tuple[Path, dict]:
    """Build a corpus from texts (no validation split unless asked) and return (path, stats)."""
    corpus.setdefault("validation_share", 0.0)
    cfg = cfg_for(tmp_path, **corpus)
    out = tmp_path / "corpus.txt"
    return out, build_corpus([write_jsonl(tmp_path / "in.jsonl", texts)], out, cfg, index=False)


def test_corpus_file_format_and_read_back(tmp_path):
    out, st = build(tmp_path, BIOS)
    text = out.read_text(encoding="utf-8")
    assert text == "".join(f"<|startoftext|>{b}<|endoftext|>\n" for b in BIOS)
    assert read_corpus(out) == BIOS and st["kept"] == len(BIOS)
    m = manifest(out)
    assert m[0] == {
        "id": "in.jsonl:1",
        "name": "artist 0",
        "url": "",
        "status": "kept",
        "reason": None,
        "corpus_index": 0,
    }


def test_non_english_dropped_english_kept(tmp_path):
    out, st = build(tmp_path, [BIOS[0], GERMAN, SPANISH, BIOS[1]])
    assert read_corpus(out) == [BIOS[0], BIOS[1]]
    assert st["dropped"] == {"not_english": 2}
    assert [m["reason"] for m in manifest(out)] == [None, "not_english", "not_english", None]


@pytest.mark.parametrize(
    "text, kept",
    [
        ("DJ Nyx from Oslo plays techno, electro and ambient at Blå.", True),  # short, name-heavy English
        ("Hannah Rot legt Techno auf und wohnt seit 2010 in Berlin.", False),
        ("Produced with love by the label of the year, and the best.", True),
    ],
)
def test_short_texts_decided_by_stopwords(tmp_path, text, kept):
    out, _ = build(tmp_path, [text], min_chars=20)
    assert (read_corpus(out) == [text]) is kept


def test_length_bounds_and_duplicates(tmp_path):
    long = BIOS[0] + " " + BIOS[3]
    near = long.replace("warehouse", "basement")  # one word of 70: Jaccard of 5-grams 61/71 = 0.86
    shouting = BIOS[1].upper().replace(",", "")  # same words
    out, st = build(tmp_path, [long, BIOS[1], "Too short.", "x " * 3000, near, shouting, ""], max_chars=5000)
    assert read_corpus(out) == [long, BIOS[1]]
    assert [m["reason"] for m in manifest(out)][2:] == ["too_short", "too_long", "near_duplicate", "duplicate", "empty"]
    assert st["dropped"] == {"duplicate": 1, "empty": 1, "near_duplicate": 1, "too_long": 1, "too_short": 1}


def test_near_dup_threshold_respected():
    idx = NearDupIndex(0.8)
    near = idx.is_near_duplicate
    idx.add(idx.sketch(words_of(BIOS[0] + " " + BIOS[3])), BIOS[0] + " " + BIOS[3])
    assert near(idx.sketch(words_of((BIOS[0] + " " + BIOS[3]).replace("warehouse", "basement"))))
    assert not near(idx.sketch(words_of(BIOS[0].replace("warehouse", "basement"))))  # 36 words: 27/37 = 0.73
    half = " ".join(BIOS[0].split()[:18]) + " " + " ".join(BIOS[3].split()[18:])
    assert not near(idx.sketch(words_of(half)))
    assert not near(idx.sketch(words_of(BIOS[2])))


def test_validation_split_deterministic_and_disjoint(tmp_path):
    out, st = build(tmp_path, BIOS, validation_share=0.5)
    val = read_corpus(out.with_suffix(".val.txt"))
    train = read_corpus(out)
    assert sorted(val + train) == sorted(BIOS) and not set(val) & set(train)
    assert val == [b for b in BIOS if in_validation(b, 0.5)] and 0 < len(val) < len(BIOS)
    for m, bio in zip(manifest(out), BIOS):
        assert (m["reason"] == "validation") == (bio in val)
        assert m["corpus_index"] is None if bio in val else train[m["corpus_index"]] == bio
    assert st["validation"] == len(val)


def test_rebuild_is_byte_identical_across_processes(tmp_path):
    texts = BIOS + [GERMAN, BIOS[0]] + [b.replace("the", "a") for b in BIOS]
    out, _ = build(tmp_path, texts, validation_share=0.3)
    first = {p: p.read_bytes() for p in tmp_path.glob("corpus*")}
    code = (
        "import sys; from pathlib import Path; from tests.training.test_corpus import cfg_for;"
        "from training.corpus.build import build_corpus; t = Path(sys.argv[1]);"
        "build_corpus([t / 'in.jsonl'], t / 'corpus.txt', cfg_for(t, validation_share=0.3), index=False)"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")  # sets and dicts iterate differently
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, env=env, check=True)
    assert {p: p.read_bytes() for p in tmp_path.glob("corpus*")} == first and len(first) == 3


def test_txt_and_csv_inputs(tmp_path):
    txt = tmp_path / "a.txt"
    txt.write_text(f"{BIOS[0]}\n\n\n{BIOS[1]}\n", encoding="utf-8")
    delim = tmp_path / "b.txt"
    delim.write_text(
        f"<|startoftext|>{BIOS[2]}<|endoftext|>\n<|startoftext|>{BIOS[3]}<|endoftext|>\n", encoding="utf-8"
    )
    table = tmp_path / "c.csv"
    with open(table, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["bio", "other"], [BIOS[4], "x"], [BIOS[5], "y"]])
    out = tmp_path / "corpus.txt"
    build_corpus([txt, delim, table], out, cfg_for(tmp_path, validation_share=0.0), index=False)
    assert read_corpus(out) == BIOS
    assert [m["id"] for m in manifest(out)] == ["a.txt:0", "a.txt:1", "b.txt:0", "b.txt:1", "c.csv:2", "c.csv:3"]


def test_jsonl_field_and_discogs_ids(tmp_path):
    rows = [
        {"discogs_id": 7, "name": "Theo Lanning", "profile_raw": BIOS[0] + " He also works with [a8]."},
        {"discogs_id": 8, "name": "Ayla Verde", "profile_raw": "[b]" + BIOS[1] + "[/b] See [a=Theo Lanning]."},
    ]
    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "corpus.txt"
    build_corpus([src], out, cfg_for(tmp_path, validation_share=0.0, jsonl_field="profile_raw"), index=False)
    assert read_corpus(out) == [BIOS[0] + " He also works with Ayla Verde.", BIOS[1] + " See Theo Lanning."]
    with pytest.raises(InputError, match="jsonl_field"):
        build_corpus([src], out, cfg_for(tmp_path), index=False)


@pytest.mark.parametrize(
    "name, body, match",
    [
        ("x.md", "hello", "unsupported input type"),
        ("bad.jsonl", "{nope\n", "not valid JSON"),
    ],
)
def test_bad_inputs_raise_input_error(tmp_path, name, body, match):
    (tmp_path / name).write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match=match):
        build_corpus([tmp_path / name], tmp_path / "c.txt", cfg_for(tmp_path), index=False)
    with pytest.raises(InputError, match="no such file"):
        build_corpus([tmp_path / "missing.txt"], tmp_path / "c.txt", cfg_for(tmp_path), index=False)


def test_build_from_scrape_cache(scrape_site, tmp_path):
    cfg = scrape_site.config(tmp_path)
    cfg = dataclasses.replace(cfg, corpus=dataclasses.replace(cfg.corpus, validation_share=0.0))
    clock = [0.0]
    with requests.Session() as s:
        crawl(
            cfg,
            cfg.scrape.sites[0],
            session=s,
            clock=lambda: clock[0],
            sleep=lambda x: clock.__setitem__(0, clock[0] + x),
            progress=False,
        )
    out = tmp_path / "corpus.txt"
    st = build_corpus(None, out, cfg, index=False)
    by_name = {m["name"]: m for m in manifest(out)}
    assert by_name["Kai Brenner"]["reason"] == "not_english" and by_name["Lucía Márquez"]["reason"] == "not_english"
    assert "Hidden Artist" not in by_name and st["dropped"] == {"not_english": 2}
    bios = read_corpus(out)
    assert len(bios) == 5
    nova = next(b for b in bios if b.startswith("Nova Reyes"))
    assert "Theo Lanning" in nova and "[a=" not in nova and "Read more" not in nova and "cookies" not in nova
    assert any("café in Zürich" in b for b in bios)  # latin-1 via <meta>
    assert any("“Café Noir”" in b for b in bios)  # cp1252, undeclared
    assert any("señor’s patience" in b for b in bios)  # cp1252 from the HTTP header
    assert by_name["Nova Reyes"]["url"].endswith("/artists/nova-reyes.html")


def test_stats_and_pronoun_warning(tmp_path):
    out, _ = build(tmp_path, BIOS)
    st = corpus_stats(out)
    assert st["bios"] == 6 and st["manifest"] == {"kept": 6}
    assert st["pronouns"] == {"he/him": 3, "she/her": 2, "they/them": 1}
    assert st["pronoun_share"]["he/him"] == 0.5 and "WARNING" not in format_stats(st)
    he = [b for b in BIOS if pronoun_family(b) == "he/him"]
    out, _ = build(tmp_path, he + [BIOS[1]])
    text = format_stats(corpus_stats(out))
    assert "WARNING: 75% of the bios with pronouns use he/him" in text
    assert st["approx_tokens"] == sum(map(len, BIOS)) // 4


def test_gpt2_simple_load_dataset_reads_the_corpus(tmp_path):
    out, _ = build(tmp_path, BIOS)
    # gpt_2_simple turns off eager execution process-wide on import: keep it out of this process.
    code = """
import sys
from gpt_2_simple.src import encoder, load_dataset
byte_vocab = {c: i for i, c in enumerate(encoder.bytes_to_unicode().values())}
enc = encoder.Encoder(byte_vocab, [])  # a tiny real Encoder: one token per byte, no merges
chunks = load_dataset.load_dataset(enc, sys.argv[1], 1)  # combine=1: no <|endoftext|> appended
print(len(chunks), sum(len(c) for c in chunks))
assert enc.decode(list(chunks[0])) == open(sys.argv[1], encoding="utf-8").read()
"""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    r = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split()[:2] == ["1", str(len(out.read_bytes()))]


# --- the CLI ---------------------------------------------------------------------------------------


def invoke(*args: str):
    """Run `djbios ARGS` through click's CliRunner."""
    from click.testing import CliRunner

    from bot.cli import cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_cli_corpus_build_stats_index(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", BIOS + [GERMAN])
    toml = tmp_path / "bot.toml"
    toml.write_text('[corpus]\npath = "data/corpus.txt"\nvalidation_share = 0.0\n', encoding="utf-8")
    r = invoke("--config", str(toml), "corpus", "build", str(src))
    assert r.exit_code == 0, r.output
    assert "6 bios kept, 0 held out for validation, 1 dropped (not_english 1) of 7" in r.output
    corpus = tmp_path / "data/corpus.txt"
    assert read_corpus(corpus) == BIOS
    r = invoke("--config", str(toml), "corpus", "stats")
    assert r.exit_code == 0 and "bios in corpus: 6" in r.output and "not_english 1" in r.output
    assert corpus.with_suffix(".idx").exists()  # build made the copy index beside the corpus
    r = invoke("--config", str(toml), "corpus", "index")
    assert r.exit_code == 0, r.output


def test_cli_corpus_build_without_inputs_or_cache_says_what_to_do(tmp_path):
    toml = tmp_path / "bot.toml"
    toml.write_text("", encoding="utf-8")
    r = invoke("--config", str(toml), "corpus", "build")
    assert r.exit_code != 0 and "run `djbios scrape` or pass corpus files" in r.output
    r = invoke("--config", str(toml), "corpus", "stats")
    assert r.exit_code != 0 and "run `djbios corpus build`" in r.output


def test_cli_scrape_then_build_from_cache(scrape_site, tmp_path):
    toml = scrape_site.toml(tmp_path)  # no delays: this one runs on the real clock
    r = invoke("--config", str(toml), "scrape", "--no-progress", "--max-pages", "3")
    assert r.exit_code == 0, r.output
    assert "fixture: fetched 3, from cache 0" in r.output
    r = invoke("--config", str(toml), "scrape", "--site", "fixture", "--no-progress")
    assert r.exit_code == 0 and "from cache 3" in r.output and "robots-blocked 1" in r.output
    r = invoke("--config", str(toml), "corpus", "build", "--out", str(tmp_path / "c.txt"))
    assert r.exit_code == 0 and "dropped (not_english 2)" in r.output
    r = invoke("--config", str(toml), "scrape", "--site", "nope")
    assert r.exit_code != 0 and "no scrape site named 'nope'" in r.output


def test_sample_corpus_builds(tmp_path):
    out = tmp_path / "corpus.txt"
    st = build_corpus([ROOT / "training/data/sample_bios.jsonl"], out, cfg_for(tmp_path), index=False)
    assert st["kept"] + st["validation"] >= 0.9 * st["inputs"], st


def test_non_utf8_csv_is_one_clear_error(tmp_path):
    from bot.config import load_config
    from bot.errors import InputError
    from training.corpus.build import build_corpus

    bad = tmp_path / "latin1.csv"
    bad.write_bytes(b"text\ncaf\xe9 DJ bio that is long enough to pass the length bounds easily here\n")
    (tmp_path / "bot.toml").write_text("")
    with pytest.raises(InputError, match="cannot read it as a UTF-8 CSV"):
        build_corpus([bad], tmp_path / "out" / "corpus.txt", load_config(tmp_path / "bot.toml"))
