"""bot/posting/parts.py: parts from the current text, and matching statuses to a WHOLE bio."""

from __future__ import annotations

from bot.filters.hazards import ZWSP
from bot.posting.parts import find_chain, match_key, status_key, thread_parts

LONG = " ".join(f"Sentence {i} says DJ Parts spent year {i} digging through crates in a barn." for i in range(9))


def _status(sid, content, reply_to=None, visibility="unlisted"):
    return {
        "id": str(sid),
        "content": content,
        "in_reply_to_id": reply_to,
        "visibility": visibility,
        "url": f"https://m.example/@djbios/{sid}",
    }


def test_parts_come_from_the_text_and_the_settings():
    assert thread_parts(LONG, 500) == [LONG]  # too_long = "reject": one status (the server says 422)
    parts = thread_parts(LONG, 500, too_long="thread")
    assert len(parts) == 2 and parts[0].endswith("(1/2)") and parts[1].endswith("(2/2)")
    assert thread_parts("Short bio.", 500, too_long="thread") == ["Short bio."]
    with_cw = thread_parts(LONG, 500, spoiler_text="x" * 200, too_long="thread")
    assert len(with_cw) == 3  # the content warning counts toward every part


def test_match_key_survives_what_the_server_does_to_the_text():
    bio = f"*DJ Tape* & @{ZWSP}crew play <dub> at https://example.org/a_b\ntonight"  # as the defuser leaves it
    html = (
        '<p><em>DJ Tape</em> &amp; @\u200bcrew play &lt;dub&gt; at <a href="https://example.org/a_b">'
        '<span class="invisible">https://</span><span>example.org/a_b</span></a><br />tonight</p>'
    )
    assert status_key({"content": html}) == match_key(bio)
    assert match_key("DJ  A\n\nB") == match_key("DJ A B")
    assert match_key("DJ A") != match_key("DJ B")


def test_a_chain_matches_only_a_whole_bio_in_order():
    parts = ["Same opening line. (1/2)", "Ending A. (2/2)"]
    other = ["Same opening line. (1/2)", "Ending B. (2/2)"]
    online = [_status(1, "<p>Same opening line. (1/2)</p>"), _status(2, "<p>Ending A. (2/2)</p>", "1")]
    assert find_chain(online, parts) == ["1", "2"]
    assert find_chain(online, other) is None  # a shared first part is not the bio
    assert find_chain(online[:1], parts) is None  # nor is a prefix of it
    assert find_chain(online, parts, exclude={"1"}) is None  # another bio's status
    assert find_chain(online, parts, known=["1"]) == ["1", "2"]
    reversed_order = [_status(1, "<p>Ending A. (2/2)</p>"), _status(2, "<p>Same opening line. (1/2)</p>", "1")]
    assert find_chain(reversed_order, parts) is None


def test_a_chain_skips_direct_messages_and_picks_the_matching_reply():
    parts = ["Opening. (1/2)", "Ending. (2/2)"]
    online = [
        _status(1, "<p>Opening. (1/2)</p>", visibility="direct"),
        _status(2, "<p>Opening. (1/2)</p>"),
        _status(3, "<p>Something else</p>", "2"),
        _status(4, "<p>Ending. (2/2)</p>", "2"),
    ]
    assert find_chain(online, parts) == ["2", "4"]
