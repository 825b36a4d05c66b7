"""Reading a request (bot/posting/requests_parse.py): pure, every rule with an example."""

from __future__ import annotations

import time

import pytest

from bot.posting.requests_parse import Parsed, parse_request

MASTODON_HTML = (
    '<p><span class="h-card" translate="no"><a href="https://bots.example/@djbios" '
    'class="u-url mention">@<span>djbios</span></a></span> bio for Nadia Ferro (she/her)</p>'
)


@pytest.mark.parametrize(
    ("text", "name", "pronouns"),
    [
        (MASTODON_HTML, "Nadia Ferro", "she"),
        ("@djbios bio for Nadia Ferro (she/her)", "Nadia Ferro", "she"),
        ("@djbios write one for DJ Koze", "DJ Koze", None),
        ("@djbios Nadia Ferro they/them please", "Nadia Ferro", "they"),
        ("@djbios bio for dj koze pronouns: she", "dj koze", "she"),
        ('@djbios please write a bio for "Mira S.K." with he/him pronouns, thanks!', "Mira S.K.", "he"),
        ("@djbios can you write a bio for Lena Byrne? 🙏", "Lena Byrne", None),
        ("@djbios gimme a bio for Ana María O’Neill (they)", "Ana María O'Neill", "they"),
        ("@djbios one for Peter & the Wolf", "Peter & the Wolf", None),
        ("@djbios hi! bio for Kenji Moss pls", "Kenji Moss", None),
        ("@djbios make me a dj bio for Bicep", "Bicep", None),
        ("@djbios a bio for Nadia Ferro.", "Nadia Ferro", None),
        ("@djbios bio for “Ferro & Sand”", "Ferro & Sand", None),
        ("@djbios Pronouns: He. Bio for Tomas Reik", "Tomas Reik", "he"),
        ("@djbios@bots.example bio for Nadia Ferro (SHE/HER)", "Nadia Ferro", "she"),
        ("@djbios Nadia Ferro", "Nadia Ferro", None),
        ("@djbios Nadia de la Ferro", "Nadia de la Ferro", None),
        ("@djbios bio for 2Pac Rivera", "2Pac Rivera", None),
    ],
)
def test_requests_are_understood(text, name, pronouns):
    assert parse_request(text) == Parsed(name=name, pronouns=pronouns)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("@djbios hello how are you", "not a request"),
        ("@djbios What is this?", "a question"),
        ("@djbios Thanks!", "no name"),
        ("@djbios bio for https://evil.example/x", "no URL"),
        ("@djbios bio for evil.com", "no URL"),
        ("@djbios bio for @someone@else.example", "no name"),
        ("@djbios bio for Nadia@friend", "no @"),
        ("@djbios bio for #tag", "no #"),
        ("@djbios bio for Nadia\u202eFerro", "control character U+202E"),
        ("@djbios bio for Nadia\u200bFerro", "control character U+200B"),
        ("@djbios bio for Nadia\x07Ferro", "control character U+0007"),
        ("@djbios bio for Nadia she/they", "pronouns she/they"),
        ("@djbios bio for Nadia (she/her) he/him", "two sets of pronouns"),
        ("@djbios bio for A B C D E F G", "7 words"),
        ("@djbios bio for " + "Nadiaaaaaaaaaaaa " * 6, "characters"),
        ("@djbios " + "x" * 600, "too long"),
        ("@djbios bio for 1234", "a letter"),
        ("@djbios bio for Nadia &lt;Ferro&gt;", "no '<'"),
        ("@djbios bio for Nadia_Ferro", "no '_'"),
        ("@djbios", "no name"),
    ],
)
def test_everything_else_is_refused_with_a_reason(text, why):
    parsed = parse_request(text)
    assert parsed.name is None and why in str(parsed.reason)


def test_html_entities_cannot_smuggle_control_characters():
    assert "U+202E" in str(parse_request("<p>@djbios bio for Nadia&#8238;Ferro</p>").reason)


@pytest.mark.parametrize(
    "text",
    [
        "please " * 70 + "x?",
        "can you " * 60,
        "a bio " * 80,
        "(she/her)" * 55,
        "hi, " * 120 + '"',
        "write me " * 55,
        "she/her " * 60,
    ],
)
def test_hostile_input_is_refused_fast(text):
    parse_request("@djbios bio for warm up")  # the URL grammar loads once (about a second)
    t0 = time.perf_counter()
    parse_request("@djbios " + text[:490])
    assert time.perf_counter() - t0 < 0.1
