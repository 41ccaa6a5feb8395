"""Notification delivery through apprise: the only code in driftmon that sends messages.

A target is an apprise URL (``json://host/path``, ``slack://...``, ``mailto://...``), and those
URLs carry secrets: passwords, tokens, webhook ids, header values. So the URL never leaves a
`Target` except to apprise: a target is shown by its ``label`` (apprise's privacy rendering) and
identified by its ``key`` (a hash), and while apprise works on a target every part of the URL
that the label hides is replaced by ``***`` in the log records of apprise and its HTTP stack and
in our error messages.

apprise reports failure by returning False rather than raising, so `send` checks every result,
retries, and raises `NotificationError` with apprise's own reason once the attempts run out.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from driftmon.alerts import Message
from driftmon.errors import ConfigError, NotificationError

if TYPE_CHECKING:
    import apprise

__all__ = ["Target", "parse_targets", "send"]


_log = logging.getLogger(__name__)

_MASK = "***"
_KEY_LENGTH = 16
_MIN_HIDDEN = 4
_URL_HELP = (
    "apprise URLs look like `json://host:port/path`, `slack://TokenA/TokenB/TokenC`, "
    "`mailto://user:password@smtp.example.com?to=ops@example.com` "
    "(all schemes: https://github.com/caronc/apprise/wiki)"
)
#: Message level -> apprise's ``NotifyType`` value (the enum is looked up when sending).
_NOTIFY_TYPES = {"info": "INFO", "warning": "WARNING", "failure": "FAILURE"}
# Loggers that can print a URL, its path or its headers while apprise sends: apprise itself
# (e.g. "Unparseable URL <raw url>" at ERROR, "Loaded JSON URL: ...+Header=value" at DEBUG)
# and urllib3, which logs request paths (webhook tokens) at DEBUG.
_SCRUBBED_LOGGERS = (
    "apprise",
    "urllib3.connectionpool",
    "urllib3.poolmanager",
    "urllib3.util.retry",
)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)")


@dataclass(frozen=True, slots=True)
class Target:
    """One place to send notifications; build it with `parse_targets`.

    ``url`` holds secrets and stays out of ``repr``; ``key`` (the first 16 hex digits of the
    URL's sha256) identifies the target in stores and logs without revealing it, and ``label``
    is the URL as apprise renders it in privacy mode, without its query string.
    """

    url: str = field(repr=False)
    key: str
    label: str

    def __post_init__(self) -> None:
        if self.key != _key(self.url):
            raise ValueError(
                f"Target `{self.label}`: key `{self.key}` is not the URL's hash; "
                "build targets with parse_targets()"
            )


def parse_targets(urls: Sequence[str]) -> list[Target]:
    """Validate notification URLs with apprise and turn them into targets.

    Done once, up front, so that a typo fails the configuration rather than the first alert.
    Duplicate URLs collapse into one target; order is kept.

    Raises
    ------
    NotificationError
        If any URL is empty or not one apprise can load. Every bad URL is listed, each by
        position and by scheme and host only, with apprise's reason and what apprise URLs
        look like.
    """
    if isinstance(urls, str):
        raise TypeError("parse_targets() takes a sequence of URLs, not one string")
    targets: list[Target] = []
    problems: list[str] = []
    seen: set[str] = set()
    for position, raw in enumerate(urls, start=1):
        url = raw.strip()
        if url in seen:
            continue
        seen.add(url)
        if not url:
            problems.append(f"target {position} is empty")
            continue
        target, problem = _load(url, position)
        if target is None:
            problems.append(problem)
        else:
            targets.append(target)
    if problems:
        count = f"{len(problems)} notification target(s) are invalid"
        raise NotificationError(f"{count}: {'; '.join(problems)}. {_URL_HELP}")
    return targets


def send(
    target: Target,
    message: Message,
    *,
    attempts: int = 3,
    backoff_seconds: Sequence[float] = (0.5, 2.0),
    timeout_seconds: float = 10.0,
    idempotency_key: str | None = None,
) -> int:
    """Deliver one message to one target, retrying transient failures; returns how many
    attempts that took (the outbox records every request made).

    apprise returns False instead of raising, so every attempt's result is checked; the
    reason apprise logged for the last failure goes into the error, with the target's
    secrets masked.

    Parameters
    ----------
    target
        Where to send, from `parse_targets`.
    message
        Title and plain-text body; ``level`` maps to apprise's notify type (info, warning,
        failure), which receivers show as colour or icon.
    attempts
        How many times to try before giving up, at least 1.
    backoff_seconds
        Pause before the 2nd, 3rd, ... attempt; the last value repeats when there are more
        attempts than pauses.
    timeout_seconds
        Connect and read timeout for each attempt, applied as apprise's ``cto`` and ``rto``
        URL options unless the URL sets them itself, so a dead receiver fails fast.
    idempotency_key
        Sent as the ``Idempotency-Key`` header by the webhook schemes that take headers
        (`HEADER_SCHEMES`), so a receiver can drop a repeated delivery.

    Raises
    ------
    NotificationError
        When every attempt failed; names the target by its label and quotes apprise's reason.
        Its ``attempts`` says how many were made.
    ConfigError
        When ``attempts``, ``backoff_seconds`` or ``timeout_seconds`` are out of range.
    """
    if attempts < 1:
        raise ConfigError(f"notify: attempts must be at least 1, got `{attempts}`")
    pauses = [float(pause) for pause in backoff_seconds]
    if not all(math.isfinite(pause) and pause >= 0 for pause in pauses):
        raise ConfigError(
            f"notify: backoff_seconds must be finite and non-negative, got `{pauses}`"
        )
    if not (math.isfinite(timeout_seconds) and timeout_seconds > 0):
        raise ConfigError(f"notify: timeout_seconds must be positive, got `{timeout_seconds}`")
    try:
        notify_type = _apprise().NotifyType[_NOTIFY_TYPES[message.level]]
    except KeyError:
        raise NotificationError(
            f"message level `{message.level}` is not one of `info`, `warning`, `failure`"
        ) from None
    url = _with_timeouts(target.url, timeout_seconds)
    if idempotency_key is not None:
        url = _with_header(url, "Idempotency-Key", idempotency_key)
    plugin, secrets, _ = _instantiate(url)
    if plugin is None:
        raise NotificationError(
            f"notification target `{target.label}` is not a URL apprise can load; "
            f"build targets with parse_targets(). {_URL_HELP}"
        )
    secrets |= {target.url}
    notifier = _apprise().Apprise()
    notifier.add(plugin)
    reason = ""
    with _SCRUBBER.hiding(secrets):
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                time.sleep(pauses[min(attempt - 2, len(pauses) - 1)] if pauses else 0.0)
            failure = _attempt(notifier, message, notify_type, _renders_markdown(plugin))
            if failure is None:
                _log.debug("notification sent to %s (attempt %d)", target.label, attempt)
                return attempt
            reason = _scrub(failure, _ordered(secrets)).rstrip(". ")
            _log.warning(
                "notification to %s failed (attempt %d of %d): %s",
                target.label,
                attempt,
                attempts,
                reason,
            )
    raise NotificationError(
        f"notification to `{target.label}` failed after {attempts} attempt(s); "
        f"apprise said: {reason}. Check that the receiver is reachable and the URL and its "
        "credentials are right",
        attempts=attempts,
    )


def _renders_markdown(plugin: object) -> bool:
    """Whether the channel's own (first) format is Markdown."""
    formats = getattr(plugin, "notify_format", ())
    native = formats[0] if isinstance(formats, tuple) and formats else formats
    return native == _apprise().NotifyFormat.MARKDOWN


def _key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:_KEY_LENGTH]


#: A path segment that looks like a token (webhook services carry their secrets in the path,
#: which apprise's privacy mode shows for generic `json://` / `form://` targets): letters and
#: digits mixed over 8 characters or more, or any 20 word characters (not a channel like
#: `%23drift` or an address like `ops%40example.com`).
_PATH_TOKEN = re.compile(r"^(?=[^/]*[A-Za-z])(?=[^/]*\d)[\w-]{8,}$|^[\w-]{20,}$", re.ASCII)


def _mask_path_tokens(label: str) -> str:
    """``label`` with every token-like path segment shown as its first and last character."""
    scheme, sep, rest = label.partition("://")
    if not sep:
        return label
    host, slash, path = rest.partition("/")
    segments = [f"{s[0]}...{s[-1]}" if _PATH_TOKEN.match(s) else s for s in path.split("/")]
    return f"{scheme}://{host}{slash}{'/'.join(segments)}"


def _load(url: str, position: int) -> tuple[Target | None, str]:
    """The target for ``url``, or None and why apprise could not load it."""
    if _SCHEME.match(url) is None:
        return None, f"target {position} is not a URL (no `scheme://`)"
    plugin, secrets, warnings = _instantiate(url)
    if plugin is not None:
        label = _mask_path_tokens(plugin.url(privacy=True).split("?", 1)[0])
        if label.endswith("/") and not label.endswith("://"):
            label = label.rstrip("/")
        return Target(url=url, key=_key(url), label=label), ""
    scheme = _scheme_and_host(url)[0]
    where = f"target {position} `{'://'.join(_scheme_and_host(url))}`"
    if scheme not in _apprise().NotificationManager():
        return None, f"{where}: apprise has no `{scheme}://` scheme"
    said = _scrub("; ".join(warnings), _ordered(secrets))
    return None, f"{where}: apprise could not load it ({said or 'no reason given'})"


def _instantiate(url: str) -> tuple[apprise.NotifyBase | None, frozenset[str], list[str]]:
    """apprise's plugin for ``url`` (None if it cannot load it), the URL's secrets and the
    warnings apprise logged meanwhile, with those secrets masked."""
    # Until apprise has rendered the URL in privacy mode, everything but the scheme and the
    # host is treated as secret.
    secrets = _secrets(url, shown="://".join(_scheme_and_host(url)))
    with _SCRUBBER.hiding(secrets), _warnings_of_this_thread() as warnings:
        plugin = _apprise().Apprise.instantiate(url)
        if plugin is not None:
            # apprise's privacy rendering masks what it knows to be secret; hide that too.
            secrets = _secrets(url, shown=plugin.url(privacy=True))
    return plugin, secrets, warnings


def _scheme_and_host(url: str) -> tuple[str, str]:
    match = _SCHEME.match(url)
    if match is None:
        return "", ""
    return match.group(1).lower(), match.group(2).rpartition("@")[2]


def _with_timeouts(url: str, timeout_seconds: float) -> str:
    """``url`` with apprise's connect (``cto``) and read (``rto``) timeouts, unless set."""
    parsed = _apprise().URLBase.parse_url(url, verify_host=False) or {}
    options = parsed.get("qsd") or {}
    extra = [f"{name}={timeout_seconds!r}" for name in ("cto", "rto") if name not in options]
    if not extra:
        return url
    return f"{url}{'&' if '?' in url else '?'}{'&'.join(extra)}"


#: apprise schemes that send custom headers (``+Name=value`` URL options): the webhooks.
HEADER_SCHEMES = frozenset({"json", "jsons", "xml", "xmls", "form", "forms"})


def _with_header(url: str, name: str, value: str) -> str:
    """``url`` with an HTTP header for the schemes that take them; others unchanged."""
    if _scheme_and_host(url)[0] not in HEADER_SCHEMES:
        return url
    return f"{url}{'&' if '?' in url else '?'}{quote('+' + name)}={quote(value)}"


def _attempt(
    notifier: apprise.Apprise, message: Message, notify_type: apprise.NotifyType, markdown: bool
) -> str | None:
    """One delivery: None on success, else the last warning or error apprise logged.

    Channels whose native format is Markdown (Slack, ...) get the Markdown body; every other
    one the plain text, declared as text so apprise escapes it for HTML channels (e-mail).
    """
    use_markdown = markdown and message.markdown is not None
    formats = _apprise().NotifyFormat
    result = notifier.notify(
        body=message.markdown if use_markdown else message.body,
        title=message.title,
        notify_type=notify_type,
        body_format=formats.MARKDOWN if use_markdown else formats.TEXT,
    )
    try:
        if result:
            return None
        reasons = [
            entry.message
            for entry in result.logs()
            if entry.level in ("WARNING", "ERROR", "CRITICAL")
        ]
        status = getattr(result.status, "name", str(result.status)).lower()
        return reasons[-1] if reasons else f"{status}, with no reason logged"
    finally:
        result.close()


def _secrets(url: str, *, shown: str) -> frozenset[str]:
    """The parts of ``url`` to mask: the URL, its password and header values, and every
    user, host, path segment or option value that ``shown`` (its redacted form) hides.

    Hidden parts shorter than `_MIN_HIDDEN` are left alone: masking ``p`` or ``5`` everywhere
    would garble every message and hide nothing worth hiding.
    """
    parsed = _apprise().URLBase.parse_url(url, verify_host=False) or {}
    always = [url, parsed.get("password"), *(parsed.get("qsd+") or {}).values()]
    if not parsed:
        # apprise cannot even split it: hide all but the scheme and host we show.
        always.append(url.partition("://")[2])
    hidden = [
        parsed.get("user"),
        parsed.get("host"),
        *(parsed.get("fullpath") or "").split("/"),
        *(parsed.get("qsd") or {}).values(),
    ]
    visible = (shown, unquote(shown))
    secrets: set[str] = set()
    for token in always:
        if token:
            secrets |= _forms(token)
    for token in hidden:
        if token and len(token) >= _MIN_HIDDEN:
            forms = _forms(token)
            if not any(form in text for form in forms for text in visible):
                secrets |= forms
    return frozenset(secrets)


def _forms(token: str) -> set[str]:
    """``token`` as written, decoded and percent-encoded: apprise logs all three."""
    return {form for form in (token, unquote(token), quote(unquote(token), safe="")) if form}


def _ordered(secrets: Iterable[str]) -> tuple[str, ...]:
    # Longest first, so a secret containing another is masked whole.
    return tuple(sorted(secrets, key=len, reverse=True))


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, _MASK)
    return text


class _Scrubber(logging.Filter):
    """Masks the secrets of every target in use in the records of the loggers above.

    Installed once, on first use, and left in place (a filter with nothing to hide passes
    records through untouched), so concurrent sends never add or remove filters while
    another thread is logging.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._secrets: tuple[str, ...] = ()
        self._installed = False

    @contextmanager
    def hiding(self, secrets: Iterable[str]) -> Iterator[None]:
        secrets = set(secrets)
        with self._lock:
            if not self._installed:
                for name in _SCRUBBED_LOGGERS:
                    logging.getLogger(name).addFilter(self)
                self._installed = True
            self._counts.update(secrets)
            self._secrets = _ordered(self._counts)
        try:
            yield
        finally:
            with self._lock:
                self._counts.subtract(secrets)
                self._counts = +self._counts
                self._secrets = _ordered(self._counts)

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep only its template
            message = str(record.msg)
        scrubbed = _scrub(message, secrets)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            scrubbed = _scrub(record.exc_text, secrets)
            if scrubbed != record.exc_text:
                # Drop the live traceback so no handler re-renders it unmasked.
                record.exc_text, record.exc_info = scrubbed, None
        if record.stack_info:
            record.stack_info = _scrub(record.stack_info, secrets)
        return True


_SCRUBBER = _Scrubber()


@contextmanager
def _warnings_of_this_thread() -> Iterator[list[str]]:
    """Collect the (already scrubbed) warnings apprise logs from this thread."""
    messages: list[str] = []
    thread = threading.get_ident()

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.thread == thread:
                messages.append(record.getMessage())

    handler = _Collect(logging.WARNING)
    logger = logging.getLogger(_apprise().LOGGER_NAME)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def _apprise() -> ModuleType:
    """apprise, imported when a notification target is first parsed or sent to: loading its
    plugins costs a tenth of a second that a check without notifications never pays."""
    import apprise

    return apprise
