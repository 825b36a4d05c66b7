"""The README's first command, demo.sh, end to end: tiny model, few steps, local mastodon_mock.

A new user's first run: a screenful or two, nothing that looks like an error, each stage timed, and at
the end the next steps, each of which is pasted into a shell here and must work.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 80  # a screenful or two
# What a newcomer reads as "something broke": shell errors, tracebacks, log levels, native TF lines.
ERROR_LOOKING = re.compile(
    r"traceback|unbound variable|command not found|no such file|\berror\b|\bwarning\b|"
    r"\bfailed\b|^[EWF]\d{4} ",
    re.IGNORECASE,
)
NEXT = "Next, from the repository root:"


def demo_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a first run in a fresh demo folder, with the tiny model."""
    env = {
        **os.environ,
        "DJBIOS_DEMO_DIR": str(tmp_path / "demo"),
        "DJBIOS_DEMO_SIZE": "tiny",
        "DJBIOS_DEMO_STEPS": "30",
        "DJBIOS_VENV": sys.prefix,  # the venv running these tests
        "DJBIOS_SKIP_INSTALL": "1",  # it is installed already; no network in tests
        # 30 tiny steps write fragments (now often under min_chars): the filters only score, the test checks the path
        "DJBIOS_DEMO_SKIP_FILTERS": "completeness,repetition,pronouns,language,fluency,names,duplicate,length",
    }
    for key in ("DJBIOS_CONFIG", "DJBIOS_ACCESS_TOKEN", "DJBIOS_DEMO_KEEP"):
        env.pop(key, None)
    return env


def shell(command: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """A command as pasted at the repository root."""
    return subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


def next_steps(lines: list[str]) -> list[tuple[str, str]]:
    """(what, command) pairs of the closing block: a line saying what, then the command, indented."""
    block = lines[lines.index(NEXT) + 1 :]
    assert len(block) % 2 == 0 and all(b.startswith("      ") for b in block[1::2]), block
    return [(what.strip(), command.strip()) for what, command in zip(block[::2], block[1::2])]


def port_closed(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
    except OSError:
        return True
    return False


@pytest.mark.slow
def test_demo_first_run_is_short_quiet_and_ends_with_next_steps_that_work(tmp_path: Path) -> None:
    env = demo_env(tmp_path)
    first = shell(f"bash {ROOT / 'demo.sh'}", env, timeout=900)
    out = first.stdout
    assert first.returncode == 0, out[-3000:]
    lines = out.splitlines()
    assert len(lines) <= MAX_LINES, out
    bio = slice(
        next(i for i, x in enumerate(lines) if x.startswith("Posted bio #")),
        next(i for i, x in enumerate(lines) if x.startswith("Status URL:")),
    )
    judged = lines[: bio.start] + lines[bio.stop :]  # the bio is the model's text: it may say "error"
    assert not [x for x in judged if ERROR_LOOKING.search(x)], out
    for n in range(1, 7):
        assert re.search(rf"^==> \[{n}/6\] ", out, re.MULTILINE), n
    assert len(re.findall(r"^    done in \d+\.\d (s|min)", out, re.MULTILINE)) == 6, out

    status_url = lines[bio.stop].split()[-1]
    web_ui = next(x for x in lines if x.startswith("Web UI:")).split()[2]
    assert urlsplit(status_url).netloc == urlsplit(web_ui).netloc  # one host: both links work alike
    assert port_closed(web_ui)  # everything it started is stopped

    # The closing lines are the next steps, each pasteable at the repository root.
    steps = next_steps(lines)
    assert lines[-1] == "      docs/OPERATING.md"
    commands = dict(steps)
    assert [w.split()[0] for w, _ in steps] == ["look", "review", "show", "write", "run", "run"]
    user = {k: v for k, v in env.items() if not k.startswith("DJBIOS_")}  # a new shell: no demo knobs
    for what, command in steps:
        if command.endswith(".md"):
            assert (ROOT / command).is_file(), command
        elif not command.startswith("DJBIOS_DEMO_KEEP=1 "):
            done = shell(command, user)
            assert done.returncode == 0, (command, done.stdout[-2000:])
            if what.startswith("show"):
                assert "✓" in done.stdout and "posted" in done.stdout
    report = tmp_path / "demo" / "checkpoint" / "demo-tiny" / "eval" / "report.md"
    assert report.is_file()  # made by the "write the model's evaluation report" step

    # A batch without --seed gets a fresh seed: two generates in a row are two different batches.
    dj = commands["look at the queue, best first"].removesuffix(" queue")
    for _ in range(2):
        assert shell(f"{dj} generate -n 4", user).returncode == 0
    rows = [json.loads(x) for x in shell(f"{dj} queue --sort age --json", user).stdout.splitlines()]
    last, before = max(r["batch_id"] for r in rows), max(r["batch_id"] for r in rows) - 1
    seeds = {b: {r["seed"] for r in rows if r["batch_id"] == b} for b in (before, last)}
    texts = {b: [r["text"] for r in rows if r["batch_id"] == b] for b in (before, last)}
    assert seeds[before] != seeds[last] and texts[before] != texts[last]

    # DJBIOS_DEMO_KEEP=1 ./demo.sh: a rerun (cached model) that keeps the local Mastodon up.
    keep = next(c for _, c in steps if c.startswith("DJBIOS_DEMO_KEEP=1 "))
    kept = subprocess.Popen(
        ["bash", "-c", keep],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    timer = threading.Timer(600, os.killpg, (kept.pid, signal.SIGKILL))
    timer.start()
    try:
        seen = []
        assert kept.stdout is not None
        for line in kept.stdout:
            seen.append(line)
            if "keeps running" in line:
                break
        running = re.search(r"http://\S+/_ui/", seen[-1])
        assert running, "".join(seen[-20:])
        with urllib.request.urlopen(running.group(0), timeout=10) as page:
            assert page.status == 200
        rerun_ui = next(x for x in seen if x.startswith("Web UI:")).split()[2]
        assert rerun_ui == running.group(0)
    finally:
        os.killpg(kept.pid, signal.SIGINT)  # Ctrl-C, as the line says
        kept.wait(timeout=60)
        timer.cancel()
    assert port_closed(running.group(0))


@pytest.mark.slow
def test_demo_default_first_run_uses_the_committed_model_and_passes_the_real_filters(
    tmp_path: Path,
) -> None:
    """The README's first command as a newcomer runs it: no knobs, the committed model, every filter."""
    env = demo_env(tmp_path)
    for knob in ("DJBIOS_DEMO_SIZE", "DJBIOS_DEMO_STEPS", "DJBIOS_DEMO_SKIP_FILTERS"):
        env.pop(knob)
    done = shell(f"bash {ROOT / 'demo.sh'}", env, timeout=900)
    out = done.stdout
    assert done.returncode == 0, out[-3000:]
    lines = out.splitlines()
    assert len(lines) <= MAX_LINES, out
    assert re.search(r"^using \S+/demo-small-committed \(model-\d+\)$", out, re.M), out  # no training
    bio = slice(
        next(i for i, x in enumerate(lines) if x.startswith("Posted bio #")),
        next(i for i, x in enumerate(lines) if x.startswith("Status URL:")),
    )
    judged = lines[: bio.start] + lines[bio.stop :]
    assert not [x for x in judged if ERROR_LOOKING.search(x)], out
    # Every filter judged the batch: some passed (one was posted), and the summary line adds up.
    refill = re.search(r"^refill: made (\d+), queued (\d+), approved (\d+); post: posted http", out, re.M)
    assert refill, out
    made, queued, approved = map(int, refill.groups())
    rejected = int(re.search(r"^rejected by the filters before any review: (\d+)$", out, re.M).group(1))
    assert made == 32 and queued + rejected == made and 1 <= approved <= queued, out
    assert " ".join(lines[bio.start + 1 : bio.stop]).strip(), out  # the posted bio is shown

    # Its next steps work as pasted too: the evaluation, and then a rerun offers the report it wrote.
    user = {k: v for k, v in env.items() if not k.startswith("DJBIOS_")}
    steps = dict(next_steps(lines))
    for what, command in steps.items():
        if not command.endswith(".md") and not command.startswith("DJBIOS_DEMO_KEEP=1 "):
            done = shell(command, user)
            assert done.returncode == 0, (what, command, done.stdout[-2000:])
    again = shell(f"bash {ROOT / 'demo.sh'}", env, timeout=900)
    assert again.returncode == 0, again.stdout[-3000:]
    report = dict(next_steps(again.stdout.splitlines()))["open the model's evaluation report"]
    assert report.startswith("less ") and (ROOT / report.removeprefix("less ")).is_file(), report
