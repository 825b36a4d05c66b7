"""Settings: frozen dataclasses loaded once from bot.toml; unknown keys and bad values are errors.

Every default lives in the dataclasses below, so an empty bot.toml is a working offline setup.
Constraints sit in field metadata: ``min``/``max`` bounds, ``choices``, and ``path=True`` for
paths that resolve against the folder of the config file.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.accesstoken import TOKEN_ENV as TOKEN_ENV  # re-exported: the token's settings live with the rest
from bot.accesstoken import read_token as read_token
from bot.config_parse import build
from bot.errors import ConfigError
from bot.text import MASTODON_MAX_CHARS, START

CONFIG_ENV = "DJBIOS_CONFIG"
CHARS_PER_TOKEN = 3.0  # conservative: GPT-2 BPE averages ~4 characters per English token
MARGIN_TOKENS = 16  # room for the end delimiter, which is several BPE tokens in a fine-tuned model
SQLITE_PREFIX = "sqlite:///"
MAX_INTERVAL_MINUTES = 366 * 24 * 60  # a job interval of a year at most (APScheduler holds it as a timedelta)


# Bounds for values that reach C code or datetime arithmetic: beyond them a run fails later, not at load.
SEED_MAX = 2**32 - 1  # numpy.random.seed and TensorFlow take 32-bit seeds
TOP_K_MAX = 1_000_000  # well above any GPT-2 vocabulary (50,257); tf.nn.top_k fails past the vocabulary
HOURS_MAX = 24 * 366  # a year: longer alert periods overflow datetime arithmetic


def _f(default: Any, **meta: Any) -> Any:
    """A dataclass field with validation metadata (min, max, choices, path; item_min/item_max for lists)."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class DatabaseConfig:
    """Where candidates live."""

    url: str = _f(SQLITE_PREFIX + "var/djbios.db")  # any SQLAlchemy URL; sqlite paths are config-relative
    busy_timeout_s: float = _f(30.0, min=0.1, max=600)  # how long a writer waits for the lock


@dataclass(frozen=True)
class CorpusConfig:
    """The training corpus file and how `corpus build` cleans it."""

    path: Path = _f(Path("data/corpus.txt"), path=True)
    min_chars: int = _f(80, min=1)  # shorter bios teach the model nothing
    max_chars: int = _f(5000, min=1)
    min_lang_prob: float = _f(0.9, min=0.0, max=1.0)  # langdetect's probability for "en"
    near_dup_threshold: float = _f(0.8, min=0.0, max=1.0)  # Jaccard on word 5-grams
    jsonl_field: str = _f("text")  # which field of a .jsonl input holds the bio
    boilerplate: list[str] = _f(["read more", "show more", "cookie", "accept all"])
    validation_share: float = _f(0.05, min=0.0, max=0.5)  # held out for evaluate's loss
    lang_prefix_chars: int = _f(600, min=50)  # langdetect reads this prefix (chars); bench/RESULTS.md: speed
    short_words: int = _f(20, min=1)  # below this many words langdetect is unreliable; stopwords decide


@dataclass(frozen=True)
class ModelConfig:
    """Base models and gpt-2-simple checkpoints."""

    models_dir: Path = _f(Path("models"), path=True)
    checkpoint_dir: Path = _f(Path("checkpoint"), path=True)
    run_name: str = _f("run1")  # gpt-2-simple layout: checkpoint/run1/
    base_model: str = _f("small")  # a folder of models_dir: 124M, 355M, tiny, small
    checkpoint_step: int = _f(0, min=0)  # 0 = the latest checkpoint of run_name
    download_base_url: str = _f("https://openaipublic.blob.core.windows.net/gpt-2")  # OpenAI's GPT-2 files
    download_timeout_s: float = _f(10.0, min=0.1, max=600)  # per connect/read, so offline fails in seconds


@dataclass(frozen=True)
class TrainConfig:
    """gpt-2-simple finetune() arguments."""

    steps: int = _f(1000, min=1)
    learning_rate: float = _f(1e-4, min=0.0, max=1.0)
    batch_size: int = _f(1, min=1)
    accumulate_gradients: int = _f(5, min=1)
    sample_every: int = _f(0, min=0)  # 0 = never print samples while training
    save_every: int = _f(100, min=1)
    max_checkpoints: int = _f(5, min=1)  # > 1 so a less overfit checkpoint survives
    only_train_transformer_layers: bool = _f(False)
    optimizer: str = _f("adam", choices=("adam", "sgd"))
    lr_schedule: str = _f("constant", choices=("constant", "cosine"))  # cosine: to 10% over one run (adam)
    window: int = _f(1024, min=2, max=1024)  # tokens per training sequence; gpt-2-simple's own is 1024
    seed: int = _f(0, min=0, max=SEED_MAX)  # numpy's and TensorFlow's seeds are 32-bit


@dataclass(frozen=True)
class GenerateConfig:
    """Sampling settings for the worker's batches."""

    nsamples: int = _f(8, min=1, max=10000)
    batch_size: int = _f(8, min=1, max=512)  # raise it on a GPU
    temperature: float = _f(0.8, min=0.01, max=5.0)
    top_k: int = _f(40, min=0, max=TOP_K_MAX)  # 0 = no top-k cut
    top_p: float = _f(0.0, min=0.0, max=1.0)  # 0 = no nucleus cut
    prefix: str = _f(START)
    max_tokens: int = _f(0, min=0, max=1023)  # 0 = derived from the posting limit plus a margin
    seed: int = _f(-1, min=-1, max=SEED_MAX)  # -1 = a fresh seed per batch (stored with each candidate)
    # A refill's child process is killed after this (s), a week at most; a killed refill counts as failed.
    timeout_s: float = _f(1800.0, min=1.0, max=7 * 86400)


@dataclass(frozen=True)
class FiltersConfig:
    """Thresholds for the candidate filters (bot/filters/)."""

    min_chars: int = _f(60, min=0)
    max_chars: int = _f(MASTODON_MAX_CHARS, min=1)  # Mastodon's default status limit
    too_long: str = _f("reject", choices=("reject", "thread"))
    copy_run_words: int = _f(16, min=2)  # markovify: min(15, round(0.7*words)) + 1
    copy_overlap_max: float = _f(0.5, min=0.0, max=1.0)  # share of 8-grams found in the corpus
    near_dup_jaccard: float = _f(0.6, min=0.0, max=1.0)
    max_line_repeats: int = _f(2, min=1)
    max_list_repeats: int = _f(1, min=1)
    max_pattern_repeats: int = _f(4, min=1)  # lines/sentences opening with the same 2 words ("I HATE")
    max_pattern_share: float = _f(0.5, min=0.0, max=1.0)  # ...only fails above this share of them
    max_phrase_repeats: int = _f(3, min=1)  # one word 6-gram this often is a sampling loop
    max_stutters: int = _f(0, min=0)  # common words written twice in a row ("the the", "old old")
    min_fluency: float = _f(0.88, min=0.0, max=1.0)  # share of judged words that are English words
    max_fused_words: int = _f(0, min=0)  # glued function words ("ofthe"); one already reads as broken
    max_broken_contractions: int = _f(0, min=0)  # "does n't", "it' s"
    max_unknown_verbs: int = _f(0, min=0)  # unknown words right after a subject ("who splica")
    skip: list[str] = _f([])  # filters that never fail (still scored), e.g. ["language", "pronouns"]
    language: str = _f("en")
    min_lang_prob: float = _f(0.7, min=0.0, max=1.0)
    blocklist: list[str] = _f([])  # extra words (caught in any spelling), or regexes written as /.../
    blocklist_default: bool = _f(True)  # also block wordfilter's list of slurs (bot/filters/blocklist.py)
    blocklist_allow: list[str] = _f([])  # entries of the default list to let through
    mentions: str = _f("defuse", choices=("defuse", "reject", "keep"))
    hashtags: str = _f("defuse", choices=("defuse", "reject", "keep"))
    urls: str = _f("remove", choices=("remove", "placeholder", "reject"))


@dataclass(frozen=True)
class ReviewConfig:
    """How candidates become approved."""

    mode: str = _f("manual", choices=("manual", "auto"))
    auto_max_per_day: int = _f(6, min=0, max=10000)  # "auto": approve at most this many in 24 h, best first


@dataclass(frozen=True)
class MastodonConfig:
    """Where and how the bot posts. The token never lives here."""

    api_base_url: str = _f("https://mastodon.example")
    token_file: Path | None = _f(None, path=True)  # else the token comes from $DJBIOS_ACCESS_TOKEN
    publisher: str = _f("mastodon", choices=("mastodon", "outbox"))
    outbox_path: Path = _f(Path("var/outbox.jsonl"), path=True)  # used when publisher = "outbox"
    visibility: str = _f("unlisted", choices=("public", "unlisted", "private", "direct"))
    spoiler_text: str = _f("")  # content warning; empty = none
    language: str = _f("en")
    max_characters: int = _f(0, min=0)  # 0 = ask the instance (cached)
    request_timeout_s: float = _f(30.0, min=1.0, max=600)
    set_bot_flag: bool = _f(True)  # at start-up: the bot flag, [profile] disclosure and fields (once)


@dataclass(frozen=True)
class ScheduleConfig:
    """When the worker refills the queue and posts."""

    refill_every_minutes: float = _f(60.0, min=0.01, max=MAX_INTERVAL_MINUTES)
    min_queue: int = _f(5, min=0)  # refill when fewer bios are pending or approved
    post_cron: str = _f("")  # e.g. "0 9,15,21 * * *"; empty = post_every_minutes
    post_every_minutes: float = _f(240.0, min=0.01, max=MAX_INTERVAL_MINUTES)
    jitter_seconds: int = _f(0, min=0, max=86400)  # APScheduler adds it as a timedelta: a day at most
    quiet_hours: list[int] = _f([], item_min=0, item_max=23)  # local hours (0-23) with no posts
    misfire_grace_s: int = _f(300, min=1, max=7 * 86400)  # a missed post runs at most a week late
    order: str = _f("oldest", choices=("oldest", "random"))
    max_attempts: int = _f(5, min=1)  # alert the operator after this many failed posts
    retry_base_s: float = _f(60.0, min=0.1, max=6 * 3600)  # first retry after a network/5xx failure; doubles, max 6 h
    lease_stale_s: float = _f(120.0, min=5.0, max=86400)  # a worker's lease without a heartbeat this long may be taken


@dataclass(frozen=True)
class AlertsConfig:
    """Where the operator hears that something is wrong (bot/posting/alerts.py)."""

    urls: list[str] = _f([])  # apprise URLs; ${NAME} is taken from the environment (secrets stay out)
    urls_file: Path | None = _f(None, path=True)  # more apprise URLs, one a line, in a 0600 file
    operator: str = _f("")  # e.g. "@me@example.social": alerts arrive as Mastodon DMs; its DMs are commands
    file: Path = _f(Path("var/alerts.log"), path=True)  # every alert is appended here (and logged)
    repeat_hours: float = _f(24.0, min=0.0, max=HOURS_MAX)  # an open condition alerts again after this long
    silent_hours: float = _f(24.0, min=0.0, max=HOURS_MAX)  # alert when nothing was posted for this long; 0 = never
    send_resolved: bool = _f(True)  # say so when a condition that alerted clears


@dataclass(frozen=True)
class ProfileConfig:
    """What the bot's profile and posts say about it (bot/posting/profile.py)."""

    disclosure: str = _f("Fake DJ bios written by a GPT-2 model. AI-generated; not real people.")
    operator: str = _f("")  # who runs the bot, e.g. "@you@your.instance": the "Operator" profile field
    post_suffix: str = _f("")  # appended to every post, e.g. "#AIgenerated"; counted by the length filter


@dataclass(frozen=True)
class RepliesConfig:
    """Bios on request: followers mention the bot with a name, the bot answers (bot/posting/replies.py)."""

    enabled: bool = _f(False)  # off: mentions are not even read
    mode: str = _f("manual", choices=("manual", "auto"))  # "auto": a passing answer is approved at once
    poll_seconds: float = _f(60.0, min=5.0, max=86400.0)  # how often notifications are read (s)
    candidates: int = _f(8, min=1, max=64)  # bios generated per answer; the best passing one is the reply
    max_batches: int = _f(2, min=1, max=10)  # batches per request before it is given up
    steer: bool = _f(True)  # open the bio "NAME is a DJ. She": 72% vs 28% pronoun-true (bench/RESULTS.md)
    visibility: str = _f("unlisted", choices=("public", "unlisted", "private"))  # the widest a reply may be
    max_depth: int = _f(2, min=0, max=100)  # a thread the bot is in: no answer to a mention deeper than this
    per_account_per_day: int = _f(5, min=0, max=1000)  # answers per account in any 24 hours
    per_hour: int = _f(20, min=0, max=10000)  # requests accepted in any hour, all accounts together
    help_reply: bool = _f(False)  # answer a mention that is no request with a short how-to
    decline_real_artists: bool = _f(False)  # a corpus artist: a polite no instead of queueing for the operator


@dataclass(frozen=True)
class SiteConfig:
    """One site profile for the scraper."""

    name: str = _f("example")
    start_urls: list[str] = _f([])
    allowed_domains: list[str] = _f([])
    link_selector: str = _f("a.artist")
    bio_selector: str = _f("div.bio")
    name_selector: str = _f("h1")
    next_page_selector: str = _f("")
    delay_seconds: float = _f(5.0, min=0.0, max=86400)


@dataclass(frozen=True)
class ScrapeConfig:
    """The polite crawler."""

    user_agent: str = _f("djbios/0.1 (+https://github.com/djbios/djbios; bot for a corpus of DJ bios)")
    cache_path: Path = _f(Path("var/scrape-cache.sqlite"), path=True)
    max_page_bytes: int = _f(5_000_000, min=1024)
    max_redirects: int = _f(5, min=0)
    timeout_s: float = _f(30.0, min=0.1, max=600)
    retries: int = _f(3, min=0)
    # first retry wait (s); doubles per retry of a 5xx/429/connection error
    backoff_s: float = _f(2.0, min=0.0, max=3600)
    # Wall-clock bound on one request, headers and body (s): timeout_s bounds each read, so a server
    # sending a byte every few seconds would otherwise hold the crawl forever.
    deadline_s: float = _f(120.0, min=1.0, max=3600.0)
    # The longest wait a server may ask of us (s): a longer Crawl-delay/Request-rate or Retry-After
    # means we leave that host alone for this run (a warning says so) rather than hang or go faster.
    max_delay_s: float = _f(120.0, min=1.0, max=86400.0)
    sites: list[SiteConfig] = _f([])


@dataclass(frozen=True)
class Config:
    """All settings, loaded once."""

    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    filters: FiltersConfig = field(default_factory=FiltersConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)
    mastodon: MastodonConfig = field(default_factory=MastodonConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    profile: ProfileConfig = field(default_factory=ProfileConfig)
    replies: RepliesConfig = field(default_factory=RepliesConfig)
    scrape: ScrapeConfig = field(default_factory=ScrapeConfig)
    source: Path | None = None  # the file this came from (None = built-in defaults)

    @property
    def root(self) -> Path:
        """The folder relative paths resolve against."""
        return self.source.parent if self.source else Path.cwd()

    @property
    def index_path(self) -> Path:
        """The copy index sits beside the corpus file."""
        return self.corpus.path.with_suffix(".idx")


def config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """--config, else $DJBIOS_CONFIG, else ./bot.toml."""
    return Path(explicit or os.environ.get(CONFIG_ENV) or "bot.toml")


def load_config(path: str | os.PathLike[str] | None = None, *, missing_ok: bool = True) -> Config:
    """Read bot.toml into a Config; raise ConfigError naming the key and the file."""
    p = config_path(path)
    if not p.exists():
        if missing_ok and path is None and not os.environ.get(CONFIG_ENV):
            return build(Config, {}, "", Path.cwd(), p)  # embedded defaults
        raise ConfigError(f"{p}: config file not found")
    if p.is_dir():
        raise ConfigError(
            f"{p}: is a folder, not a config file; give the bot.toml inside it (--config {p / 'bot.toml'})"
        )
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 (bad byte at offset {exc.start}); re-save it as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the config file ({exc.strerror}); check its permissions") from exc
    p = p.resolve()
    cfg = build(Config, data, "", p.parent, p)
    _check_window(cfg, p)
    _check_ranges(cfg, p)
    return dataclasses.replace(cfg, source=p)


def _check_ranges(cfg: Config, file: Path) -> None:
    """Settings that are each valid but cannot work together."""
    for section in ("corpus", "filters"):
        lo, hi = getattr(cfg, section).min_chars, getattr(cfg, section).max_chars
        if lo > hi:
            raise ConfigError(
                f"{file}: '{section}.min_chars' = {lo} is above '{section}.max_chars' = {hi}: "
                "no bio could pass; lower min_chars or raise max_chars"
            )
    if set(cfg.schedule.quiet_hours) >= set(range(24)):
        raise ConfigError(
            f"{file}: 'schedule.quiet_hours' lists every hour of the day: nothing would ever "
            "be posted; remove some hours"
        )


def _check_window(cfg: Config, file: Path) -> None:
    """A model trained on short windows never learnt the positions past them: bios must fit."""
    cap = max_tokens_for(cfg)  # the cap the worker's batches use
    need = cap + -(-len(cfg.generate.prefix) // 2)  # the prompt, at a conservative 2 chars per token
    if cfg.train.window < need:
        raise ConfigError(
            f"{file}: 'train.window' = {cfg.train.window} is shorter than a generated bio "
            f"({cap} tokens, [generate] max_tokens or the posting limit, plus the prompt): "
            f"raise it to at least {need} or lower the cap"
        )


def default_max_tokens(max_chars: int) -> int:
    """Token cap for a post of at most max_chars characters (plus the delimiter)."""
    return math.ceil(max_chars / CHARS_PER_TOKEN) + MARGIN_TOKENS


def max_tokens_for(cfg: Config) -> int:
    """The token cap of every generated bio: [generate] max_tokens, else derived from the posting limit."""
    if cfg.generate.max_tokens:
        return cfg.generate.max_tokens
    return default_max_tokens(cfg.mastodon.max_characters or cfg.filters.max_chars)


def sqlite_file(url: str) -> Path | None:
    """The file of a sqlite:/// URL as written (maybe relative), or None for other databases."""
    if not url.startswith(SQLITE_PREFIX) or url == SQLITE_PREFIX + ":memory:":
        return None
    return Path(url[len(SQLITE_PREFIX) :])


def database_url(cfg: Config) -> str:
    """The SQLAlchemy URL with a relative sqlite path resolved against the config's folder."""
    path = sqlite_file(cfg.database.url)
    if path is not None and not path.is_absolute():
        return SQLITE_PREFIX + str(cfg.root / path)
    return cfg.database.url
