"""Settings: defaults, then a TOML file, then environment variables.

One `Settings` object is built at the entry point (CLI, service, tests) and passed to whatever
needs it; nothing reads the environment elsewhere.

The file is `casework.toml` in the working directory, or the path in `CASEWORK_CONFIG`, or the
one given with `--config`. Every key of section `[s]` named `k` can be overridden by the
environment variable `CASEWORK_S_K` (for example `CASEWORK_DATABASE_URL`).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from casework.errors import CaseworkError
from casework.french import os_error
from casework.intake.eligibility import Eligibility, RuleError
from casework.resources import default_templates_dir, default_workflows_dir
from casework.settings_values import convert


class SettingsError(CaseworkError):
    def __init__(self, source: str, key: str, reason: str):
        self.source, self.key, self.reason = source, key, reason
        super().__init__(f"{source}: {key}: {reason}")

    def french(self) -> str:
        return f"Configuration invalide ({self.source}) : {self.key} : {self.reason}"


# Link keys sign every action link: a short key can be found offline from one link in one mail,
# and then any link can be forged. 32 bytes is what `secrets.token_urlsafe(32)` gives (43 chars).
MIN_LINK_KEY_BYTES = 32
NEW_KEY_COMMAND = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def split_link_keys(raw: str) -> list[str]:
    """The keys of `mail.link_keys`: comma-separated, the newest last."""
    return [k.strip() for k in raw.split(",") if k.strip()]


def check_link_keys(
    keys: Sequence[str], source: str, setting: str = "mail.link_keys", ranked: bool = True
) -> None:
    """Refuse a key shorter than MIN_LINK_KEY_BYTES (UTF-8), naming it by its rank: a key's
    value never goes into a message or a log. (The pseudonyms' one key is checked alike.)"""
    for rank, key in enumerate(keys, 1):
        size = len(key.encode())
        if size < MIN_LINK_KEY_BYTES:
            which = f"la clé n° {rank}" if ranked else "la clé"
            raise SettingsError(
                source,
                setting,
                f"{which} est trop courte ({size} octet{'s' if size > 1 else ''}, il "
                f"en faut au moins {MIN_LINK_KEY_BYTES}) ; créez-en une avec {NEW_KEY_COMMAND}",
            )


@dataclass(frozen=True)
class DatabaseSettings:
    # SQLite is the embedded default; PostgreSQL (postgresql+psycopg://…) for real deployments.
    url: str = "sqlite:///var/casework.sqlite3"
    # How long a SQLite writer waits for the lock before giving up.
    busy_timeout_ms: int = 30_000
    echo: bool = False


@dataclass(frozen=True)
class PathsSettings:
    workflows: Path = field(default_factory=default_workflows_dir)
    templates: Path = field(default_factory=default_templates_dir)


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "INFO"
    # Personal data (young people's and partners' names, e-mail addresses, free text) never
    # reaches the application's logs: they name records by number. On for debugging only: the
    # service and every command warn at start while it is on (`casework.privacy.logs`).
    personal_data: bool = False


@dataclass(frozen=True)
class CalendarSettings:
    # A `holidays` subdivision whose own public holidays count too: "57" (Moselle) or "6AE"
    # (Alsace) for Alsace-Moselle's Good Friday and St Stephen's Day; "971"… for overseas.
    subdivision: str = ""
    # Day-based delays land at this local time (Europe/Paris).
    day_start: str = "09:00"


@dataclass(frozen=True)
class TimerSettings:
    # How often the service sweeps for due timers (seconds of real time).
    sweep_interval_seconds: float = 1.0
    # Timers per transaction.
    batch_size: int = 2000
    # A timer whose transition fails is retried with exponential backoff, then parked.
    max_attempts: int = 5
    retry_base_seconds: float = 60.0
    retry_max_seconds: float = 3600.0
    # Later than this, a timer has misfired: it fires anyway, or is skipped if its workflow says
    # `misfire: skip`.
    misfire_grace_seconds: float = 86_400.0
    # `casework status` and /health call a timer overdue when still pending this long after due.
    overdue_after_seconds: float = 300.0


@dataclass(frozen=True)
class ServiceSettings:
    # Where `casework serve` listens (the health endpoint; later the web pages).
    host: str = "127.0.0.1"
    port: int = 8000
    # Who may read /health: "loopback" (this machine only) or "anywhere". A request that
    # carries `Authorization: Bearer <health_token>` is answered from anywhere. Behind a reverse
    # proxy on the same machine every request looks local: set a token and do not proxy /health.
    health_from: str = "loopback"
    health_token: str = ""
    # /health shows counts of timers and mail at most this old (the service refreshes them).
    health_refresh_seconds: float = 15.0
    # A POSTed form larger than this is refused (413) before it is read past the limit.
    max_form_bytes: int = 65_536


@dataclass(frozen=True)
class MailSettings:
    # Off: `casework serve` queues mail (in the transitions' transactions) but sends none.
    enabled: bool = True
    # How often the service sends what is due (and checks whether digests are due).
    send_interval_seconds: float = 5.0
    # The relay outgoing mail goes through.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_security: str = "none"  # none | starttls | tls
    # Certificates to trust for the relay, if not the system's (a PEM file; a private CA).
    smtp_ca_file: str = ""
    smtp_user: str = ""
    smtp_password: str = ""
    timeout_seconds: float = 30.0
    # SMTP connections open at once, each reused for many mails (1 for a relay that limits it).
    connections: int = 2
    # At most this many mails a second to the relay (all connections together; 0: no limit).
    rate_per_second: float = 20.0
    # Mails per sending round; a claimed mail is someone else's after the lease.
    batch_size: int = 200
    lease_seconds: float = 300.0
    # A 4xx answer or a lost connection: retried with backoff; a 5xx: failed at once.
    max_attempts: int = 8
    retry_base_seconds: float = 60.0
    retry_max_seconds: float = 21_600.0
    # Who the mail comes from; Message-IDs and reply addresses are on `domain`.
    from_address: str = "plateforme@casework.invalid"
    from_name: str = "Plateforme apprentissage"
    domain: str = "casework.invalid"
    # Replies to a liaison sheet go to <reply_local>+<token>@<domain>.
    reply_local: str = "reply"
    # Every mail's envelope sender (where bounces go) is <bounce_local>+<token>@<bounce_domain>
    # (VERP: the token names the mail and its recipient); "" for the domain: `domain`.
    bounce_local: str = "bounce"
    bounce_domain: str = ""
    # Where the links in mails point.
    base_url: str = "http://127.0.0.1:8000"
    # Keys that sign the links, comma-separated, the newest last: links signed with an older key
    # keep working until it is removed (rotation). Required to send mail; each at least 32 bytes
    # (checked when the settings are loaded, and again by LinkSigner).
    link_keys: str = ""
    link_max_age_days: int = 30
    # The counsellors' daily digest, on working days, at this Paris time.
    digest_time: str = "08:00"


@dataclass(frozen=True)
class InboundSettings:
    # An LMTP receiver in `casework serve`, for a mail server that delivers to it.
    lmtp_enabled: bool = False
    lmtp_host: str = "127.0.0.1"
    lmtp_port: int = 2424
    # Larger messages are refused at the door over LMTP (the sending server keeps them and
    # says so); over IMAP, taken as their headers only, to the quarantine, left in the box.
    max_message_bytes: int = 25_000_000
    # The longest line the LMTP receiver takes (RFC 5321 says 1,000 bytes, but real mail has
    # longer: HTML on one line, long headers); a longer line is refused with 500.
    max_line_bytes: int = 65_536
    # Attachments up to this size are kept apart (the raw message always has them all).
    max_attachment_bytes: int = 10_000_000
    # Partners alert counsellors by writing to <alert_local>@<mail.domain> ("" turns it off):
    # a mail there from a known partner contact that names a followed apprentice is an alert
    # on that case; any other goes to the quarantine.
    alert_local: str = "alerte"
    # Who a message is from, proven (`casework.inbound.authentication`): "require" — through
    # the signed reply address sent to that contact, or by our mail server's
    # Authentication-Results (DMARC, or aligned SPF/DKIM pass), else the quarantine;
    # "token-only" — the signed reply address only; "off" — `From:` believed (development).
    sender_policy: str = "require"
    # The authserv-id our own mail server writes in its Authentication-Results headers (the
    # first word of the header; e.g. "mx.plateforme.example"). "" trusts no such header.
    authserv_id: str = ""
    # An IMAP reader in `casework serve`, for an existing mailbox: IDLE, and a poll as fallback.
    imap_enabled: bool = False
    imap_host: str = "127.0.0.1"
    imap_port: int = 993
    imap_security: str = "tls"  # tls | starttls | none
    imap_user: str = ""
    imap_password: str = ""
    imap_folder: str = "INBOX"
    # IDLE is renewed this often (servers drop it after 30 minutes).
    imap_idle_seconds: float = 600.0
    # Without IDLE, or after the connection dropped: look again this often.
    imap_poll_seconds: float = 60.0


@dataclass(frozen=True)
class IntakeSettings:
    # The signing season a cohort takes its contracts from (month-day, each year).
    campaign_start: str = "07-01"
    campaign_end: str = "12-31"
    # Cross-matching bands, by the probability that a pair is one person (fixed in advance:
    # not tuned on any data). At or above `match_threshold` a match; at or above
    # `review_threshold` a person decides; below, no match.
    match_threshold: float = 0.99
    review_threshold: float = 0.5
    # The ages, in completed years at the contract's start (or the Mission Locale's
    # registration), a row may give: outside, the row is refused as a likely mistyped date.
    min_age: int = 14
    max_age: int = 30
    # Who of a cohort becomes a case, per cohort: a table ([intake.eligibility], and
    # [intake.eligibility.<cohort>]), see `casework.intake.eligibility`.
    eligibility: Eligibility = field(default_factory=Eligibility)
    # What an imported file may be, checked before it is read (nothing in a file is trusted to
    # size the work: an XLSX's own `dimension` tag can claim a million rows, or one). The
    # defaults fit a national file: ~1,000,000 rows of ~200 bytes (a workbook holds at most
    # 1,048,576 rows), a few dozen columns.
    max_file_bytes: int = 500_000_000
    max_rows: int = 2_000_000
    max_columns: int = 200
    # An XLSX is a zip: what its parts may unpack to, all together (a zip bomb stops there).
    max_unpacked_bytes: int = 2_000_000_000


@dataclass(frozen=True)
class WebSettings:
    # The staff pages (`casework.web.staff`): sessions stored in the database, the cookie
    # carrying only a random id. A session ends after this long without a request…
    session_idle_minutes: int = 30
    # …and this long after the login, however active (a working day).
    session_max_hours: int = 10
    # The session cookie is `Secure` when the request came over https: said by the request
    # itself, or by `X-Forwarded-Proto` from a proxy listed in `trusted_proxies`.
    # "always" marks it Secure whatever the request says ("never": plain-http tests only).
    secure_cookies: str = "auto"
    # Proxies whose X-Forwarded-Proto and X-Forwarded-For are believed (comma-separated
    # addresses; "" none): the address a failed login is counted against comes from there.
    trusted_proxies: str = ""
    # Failed logins within `login_window_minutes` after which further attempts are refused for
    # the rest of the window, per login typed and per client address.
    login_window_minutes: int = 15
    failures_per_account: int = 5
    failures_per_address: int = 30
    # A password reset link works once, for this long.
    reset_link_minutes: int = 60
    # The shortest password accepted (`casework.accounts.passwords`).
    min_password_length: int = 12
    # A file sent to the Imports page waits this long for its confirmation, then is removed;
    # kept meanwhile in `upload_dir` ("": a `casework-envois` folder in the system's temporary
    # folder; with several service processes, one folder they all reach).
    upload_minutes: int = 60
    upload_dir: str = ""


@dataclass(frozen=True)
class EvaluationSettings:
    # The key of the evaluator's export's pseudonyms (HMAC-SHA256 of each case): the same key
    # gives the same pseudonyms export after export; kept outside the database (set it in the
    # environment, CASEWORK_EVALUATION_PSEUDONYM_KEY, like the link keys). Empty: no export.
    pseudonym_key: str = ""


@dataclass(frozen=True)
class ReportSettings:
    # `casework report`'s age bands, in completed years at the contract's start: "low-high"
    # or "low-" (and over), in order. Ages outside them are shown apart ("moins de 16 ans").
    age_bands: str = "16-17, 18-25, 26-"
    # Départements shown one by one in Table 1 (the most frequent); the others together.
    departements_shown: int = 15


@dataclass(frozen=True)
class PrivacySettings:
    # How long each category of personal data is kept, in months, counted from the moment said
    # beside it; then the daily purge (`casework privacy purge`) anonymises or deletes it. The
    # record of processing (`casework privacy register`) is written from these values.
    # The young person's and guardian's identity and contact details (names, birth date kept as
    # its year, phone, e-mail, address, identifiers): from the end of the case.
    identity_months: int = 36
    # Free text about the person: contact notes, assessment comments, sheets' descriptions and
    # partners' answers, rupture reasons, alerts' texts: from the end of the case.
    notes_months: int = 24
    # Mail received (the raw message, its text and attachments): from its reception.
    inbound_months: int = 12
    # Mail sent: recipients, subject, the values it was written from: from its sending.
    outbox_months: int = 12
    # The rows of imported files (CMA and Mission Locale), and their rejected rows: from the
    # file's import.
    intake_months: int = 12
    # The audit events of a case (its timeline): from the end of the case.
    audit_months: int = 60
    # The access log (who read which case): from each read.
    access_log_months: int = 12
    # The organisation responsible for the processing, and whom people write to about their
    # data: printed in the record of processing and in the rights' exports.
    controller: str = ""
    dpo_contact: str = ""
    # The processing's legal basis (article 6 of the GDPR) as the controller established it.
    legal_basis: str = ""


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    paths: PathsSettings = field(default_factory=PathsSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    calendar: CalendarSettings = field(default_factory=CalendarSettings)
    timers: TimerSettings = field(default_factory=TimerSettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    inbound: InboundSettings = field(default_factory=InboundSettings)
    intake: IntakeSettings = field(default_factory=IntakeSettings)
    web: WebSettings = field(default_factory=WebSettings)
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)

    def with_database(self, url: str) -> Settings:
        return dataclasses.replace(self, database=dataclasses.replace(self.database, url=url))


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build the settings: defaults < TOML file < environment."""
    environ = os.environ if environ is None else environ
    file_values: dict[str, dict[str, object]] = {}
    source = "défauts"
    if path is None:
        path = environ.get("CASEWORK_CONFIG")
        if path is None and Path("casework.toml").is_file():
            path = "casework.toml"
    if path is not None:
        source = str(path)
        try:
            with open(path, "rb") as fh:
                file_values = tomllib.load(fh)
        except OSError as error:
            raise SettingsError(source, "-", os_error(error)) from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(source, "-", f"TOML illisible : {exc}") from None

    sections: dict[str, object] = {}
    hints = typing.get_type_hints(Settings)
    for section in dataclasses.fields(Settings):
        cls = hints[section.name]
        given = file_values.pop(section.name, {})
        if not isinstance(given, dict):
            raise SettingsError(source, section.name, "doit être une section [..]")
        sections[section.name] = _build_section(cls, section.name, given, environ, source)
    if file_values:
        unknown = ", ".join(sorted(file_values))
        raise SettingsError(source, unknown, "section inconnue")
    return Settings(**sections)  # type: ignore[arg-type]


# Values checked beyond their type when the settings are loaded, so that a bad one stops every
# command at start with a French message instead of surfacing hours later.
_CHECKS: dict[str, Callable[[object, str], None]] = {
    "mail.link_keys": lambda value, source: check_link_keys(split_link_keys(str(value)), source),
    "evaluation.pseudonym_key": lambda value, source: check_link_keys(
        [str(value)] if str(value) else [], source, "evaluation.pseudonym_key", ranked=False
    ),
    "web.secure_cookies": lambda value, source: _one_of(
        value, SECURE_COOKIES, source, "web.secure_cookies"
    ),
    "report.age_bands": lambda value, source: _age_bands(str(value), source),
    "inbound.sender_policy": lambda value, source: _one_of(
        value, SENDER_POLICIES, source, "inbound.sender_policy"
    ),
}
SECURE_COOKIES = ("auto", "always", "never")
SENDER_POLICIES = ("require", "token-only", "off")


def _age_bands(value: str, source: str) -> None:
    from casework.evaluation.bands import BandsError, parse_bands

    try:
        parse_bands(value)
    except BandsError as error:
        raise SettingsError(source, "report.age_bands", str(error)) from None


def _one_of(value: object, allowed: Sequence[str], source: str, key: str) -> None:
    if value not in allowed:
        raise SettingsError(source, key, f"{value!r} : attendu {', '.join(allowed)}")


def _build_section(
    cls: type, name: str, given: dict[str, object], environ: Mapping[str, str], source: str
) -> object:
    hints = typing.get_type_hints(cls)
    values: dict[str, object] = {}
    known = {f.name for f in dataclasses.fields(cls)}
    for key in given:
        if key not in known:
            raise SettingsError(source, f"{name}.{key}", "clé inconnue")
    for f in dataclasses.fields(cls):
        env_key = f"CASEWORK_{name}_{f.name}".upper()
        if hasattr(hints[f.name], "from_toml"):  # a table: from the file only
            if env_key in environ:
                raise SettingsError(env_key, env_key, "se règle dans le fichier, pas ici")
            if f.name in given:
                try:
                    values[f.name] = hints[f.name].from_toml(given[f.name], f"{name}.{f.name}")
                except RuleError as error:
                    raise SettingsError(source, error.key, error.reason) from None
            continue
        if env_key in environ:
            where = env_key
            values[f.name] = convert(hints[f.name], environ[env_key], env_key, env_key)
        elif f.name in given:
            where = source
            values[f.name] = convert(hints[f.name], given[f.name], source, f"{name}.{f.name}")
        else:
            continue
        check = _CHECKS.get(f"{name}.{f.name}")
        if check is not None:
            check(values[f.name], where)
    built = cls(**values)
    if isinstance(built, IntakeSettings) and built.min_age > built.max_age:
        raise SettingsError(source, "intake.min_age", "plus grand que intake.max_age")
    return built
