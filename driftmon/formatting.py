"""How numbers and names read in every place a person sees them: CLI, messages, reports.

One formatter per kind of value, so a p-value reads the same in the terminal, in an e-mail and
on the HTML page. Pure functions, no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "P_VALUE_FLOOR",
    "batch_label",
    "file_label",
    "format_moment",
    "format_number",
    "format_p_value",
    "format_share",
    "format_share_change",
    "format_share_points",
    "json_safe",
    "markdown_code",
    "markdown_text",
    "printable",
]

#: Below this a p-value is shown as ``< 1e-16``: the chi-square and binomial approximations
#: behind it are not accurate to more than about double precision's epsilon, so smaller
#: figures would claim a precision they do not have.
P_VALUE_FLOOR = 1e-16
DASH = "–"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: Names writers give the part files of a dataset folder: ``part-0.parquet`` (pyarrow),
#: ``part.0.parquet`` (Dask), ``part-00000-<uuid>-c000.snappy.parquet`` (Spark),
#: ``<32 hex digits>-0.parquet`` (pandas and pyarrow ``partition_cols``).
_PART_FILE = re.compile(r"(?:part[-._]?\d+|[0-9a-f]{32}-\d+)(?:[-._][^/]*)?", re.IGNORECASE)
_HIVE_FOLDER = re.compile(r"[^=/]+=[^/]*")


def is_part_file(name: str) -> bool:
    """Whether a file name is a part of a dataset folder, saying nothing of its own (Spark's
    ``part-00000-<uuid>.snappy.parquet``, Dask's ``part.0.parquet``, pyarrow's ``part-0`` and
    ``<uuid>-0.parquet``): such a folder is one batch, its parts are not.

    Examples
    --------
    >>> is_part_file("part-00003-9f1c.c000.snappy.parquet"), is_part_file("orders-3.csv")
    (True, False)
    """
    return _PART_FILE.fullmatch(name) is not None


def file_label(path: str) -> str:
    """What people call a batch file: its name, or for a part file of a dataset folder (whose
    name says nothing) the name with its folders up to the dataset's, past hive-style
    ``key=value`` ones. A folder read as one batch (a path ending in ``/``) is its name, past
    hive-style folders too. Derived from the path alone, so a stored batch key gives the same.

    Examples
    --------
    >>> file_label("/feed/orders_2026-11-25.csv")
    'orders_2026-11-25.csv'
    >>> file_label("/feed/2026-11-25/part-0.parquet")
    '2026-11-25/part-0.parquet'
    >>> file_label("/data/orders/p=u/2fdc3611323940bdadb8997fc2100bc9-0.parquet")
    'orders/p=u/2fdc3611323940bdadb8997fc2100bc9-0.parquet'
    >>> file_label("part.3.parquet")
    'part.3.parquet'
    >>> file_label("/feed/2026-11-25/"), file_label("/data/orders/year=2026/month=11/")
    ('2026-11-25/', 'orders/year=2026/month=11/')
    """
    path = path.replace("\\", "/")
    parts = path.rstrip("/").split("/")
    if path.endswith("/"):  # a folder: from itself
        return _from_dataset_folder(parts, len(parts) - 1) + "/"
    if not is_part_file(parts[-1]):
        return parts[-1]
    has_parent = len(parts) > 1 and parts[-2]
    return _from_dataset_folder(parts, len(parts) - 2 if has_parent else len(parts) - 1)


def _from_dataset_folder(parts: list[str], first: int) -> str:
    """``parts`` from ``first`` on, widened upwards past hive-style ``key=value`` folders to
    the dataset's folder (the first that is not one)."""
    while first > 0 and parts[first - 1] and _HIVE_FOLDER.fullmatch(parts[first]):
        first -= 1
    return "/".join(parts[first:])


def batch_label(batch_key: str) -> str:
    """What people call a batch: `file_label` of the file for the default key
    (``path|size|mtime``), else the key given (``--batch-key``) as it is.

    Examples
    --------
    >>> batch_label("/feed/2026-11-25/part.0.parquet|7250|1796150504246469750")
    '2026-11-25/part.0.parquet'
    >>> batch_label("orders-nov")
    'orders-nov'
    """
    path, separator, _ = batch_key.partition("|")
    if separator and "/" in path:
        return file_label(path) or batch_key
    return batch_key


def format_moment(moment: datetime) -> str:
    """A point in time as a day when it is midnight (UTC), else the day and the minute: batch
    times and the values of date features read the same everywhere. Naive times are UTC.

    Examples
    --------
    >>> format_moment(datetime(2025, 4, 22)), format_moment(datetime(2025, 4, 22, 13, 47, 5))
    ('2025-04-22', '2025-04-22 13:47')
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    midnight = (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0)
    return moment.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M")


def format_number(
    value: float | int | None,
    digits: int = 3,
    *,
    trailing_zeros: bool = True,
    grouping: bool = True,
) -> str:
    """A number as people read it, the same in every place: plain digits with thousands
    separators, never Python's ``2e+04``.

    The whole part is always written in full (integers exactly); a fraction gets ``digits``
    significant digits. Only magnitudes below 1e-4 or from 1e15 on, where plain digits would
    be a row of zeros, take an exponent. Without ``trailing_zeros`` the zeros that ``digits``
    pads with go (``2.5``, not ``2.500``): labels such as bin edges, where a table column would
    rather keep them aligned. Without ``grouping`` no thousands separators: for numbers inside
    comma-separated notation such as a bin's ``[1000, 2000)``.

    Examples
    --------
    >>> format_number(1234567), format_number(0.0123456), format_number(12345.678)
    ('1,234,567', '0.0123', '12,346')
    >>> format_number(20000.0), format_number(49984.42, 4), format_number(-0.0)
    ('20,000', '49,984', '0')
    >>> format_number(9.5, 4), format_number(9.5, 4, trailing_zeros=False)
    ('9.500', '9.5')
    >>> format_number(0.000012345), format_number(1e300, 4, trailing_zeros=False)
    ('1.23e-05', '1e+300')
    >>> format_number(None), format_number(float("nan")), format_number(float("inf"))
    ('–', '–', 'inf')
    >>> format_number(1234567.0, grouping=False), format_number(-12345.678, 4, grouping=False)
    ('1234567', '-12346')
    """
    comma = "," if grouping else ""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, int):
        return f"{value:{comma}}"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude < -4 or magnitude >= _PLAIN_DIGITS_BELOW:
        text = f"{value:.{digits - 1}e}"
        if not trailing_zeros:
            mantissa, exponent = text.split("e")
            text = f"{_without_trailing_zeros(mantissa)}e{exponent}"
        return text
    if float(value).is_integer() or magnitude >= digits - 1:
        return f"{round(value):{comma}}"
    text = f"{value:{comma}.{digits - 1 - magnitude}f}"
    return text if trailing_zeros else _without_trailing_zeros(text)


#: Decimal magnitude from which `format_number` writes an exponent: 1e15 is the last power of
#: ten whose whole digits a float still holds exactly.
_PLAIN_DIGITS_BELOW = 15


def _without_trailing_zeros(text: str) -> str:
    """``2.500`` as ``2.5``, ``10.000`` as ``10``; text without a decimal point unchanged."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_share_points(change: float) -> str:
    """A change of a share in percentage points with its sign, ``+2.5 pt``; a change that
    rounds to zero reads ``+0.0 pt`` whichever side of zero it lies (never ``-0.0 pt``).

    Examples
    --------
    >>> format_share_points(0.025), format_share_points(-0.1234), format_share_points(-0.0004)
    ('+2.5 pt', '-12.3 pt', '+0.0 pt')
    """
    points = round(change * 100, 1) + 0.0  # + 0.0: -0.0 becomes 0.0
    return f"{points:+.1f} pt"


def format_share(value: float | None) -> str:
    """A fraction of rows as a percentage, with more decimals for small shares.

    Examples
    --------
    >>> format_share(0.123), format_share(0.0004), format_share(0), format_share(1)
    ('12.3%', '0.04%', '0%', '100%')
    >>> format_share(None)
    '–'
    """
    if value is None or math.isnan(value):
        return DASH
    if value == 0 or value == 1:
        return f"{value:.0%}"
    if abs(value) < 0.001:
        return f"{value:.2%}"
    return f"{value:.1%}"


def format_share_change(before: float | None, after: float | None) -> str:
    """``12.0% → 15.3%``, or a dash when either side is unknown.

    Examples
    --------
    >>> format_share_change(0.12, 0.153), format_share_change(None, 0.1)
    ('12.0% → 15.3%', '–')
    """
    if before is None or after is None:
        return DASH
    return f"{format_share(before)} → {format_share(after)}"


def format_p_value(value: float | None, *, sentence: bool = False) -> str:
    """A p-value for a table cell (``0.012``, ``3.2e-05``, ``< 1e-16``) or, with
    ``sentence``, for a message (``p = 0.012``, ``p < 1e-16``).

    Examples
    --------
    >>> format_p_value(0.5), format_p_value(2.5e-9), format_p_value(0.0)
    ('0.500', '2.5e-09', '< 1e-16')
    >>> format_p_value(0.0123, sentence=True), format_p_value(1e-300, sentence=True)
    ('p = 0.012', 'p < 1e-16')
    """
    if value is None or math.isnan(value):
        return DASH
    if value < P_VALUE_FLOOR:
        text = f"< {P_VALUE_FLOOR:.0e}"
        return f"p {text}" if sentence else text
    text = f"{value:.3f}" if value >= 0.001 else f"{value:.1e}"
    return f"p = {text}" if sentence else text


def printable(text: str) -> str:
    """The text on one line with control characters shown as escapes (``\\x1b``, ``\\n``).

    What users named or wrote (a file's garbage bytes, a column name with a line break) must not
    move the cursor, recolour the terminal or split a one-line message.

    Examples
    --------
    >>> printable("a\\nb\\x1b[31m")
    'a\\\\nb\\\\x1b[31m'
    """
    return _CONTROL.sub(_escape, text)


def visible_name(name: str) -> str:
    """A column name as a reader can see it: in double quotes when it is empty or spaces begin
    or end it, which a table cell, a list or a sentence would hide. (Control characters are
    escaped where text is shown: `printable`.)

    Examples
    --------
    >>> [visible_name(n) for n in ("price", "", " price", "unit price ")]
    ['price', '""', '" price"', '"unit price "']
    """
    return f'"{name}"' if name != name.strip() or not name else name


def name_list(names: Iterable[str]) -> str:
    """Column names as a comma-separated list, each `visible_name`.

    >>> name_list(["price", " qty", ""])
    'price, " qty", ""'
    """
    return ", ".join(map(visible_name, names))


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if char in named:
        return named[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


_MARKDOWN_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_{}[]<>()#+-.!|~"})
#: Line breaks become spaces: a blank line inside a name would end the paragraph, and with it a
#: code span, and what follows would be read as Markdown (raw HTML included).
_LINE_BREAKS = str.maketrans(dict.fromkeys("\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029", " "))


def markdown_text(text: str) -> str:
    """Text that Markdown shows as written: a feature named ``*x*`` stays ``*x*``.

    Examples
    --------
    >>> markdown_text("a_b *c*")
    'a\\\\_b \\\\*c\\\\*'
    """
    return str(text).translate(_LINE_BREAKS).translate(_MARKDOWN_SPECIAL)


def markdown_code(text: str) -> str:
    """Text for inside a Markdown code span, where backticks cannot be escaped and a blank
    line would end the span: backticks become ``'``, line breaks spaces.

    Examples
    --------
    >>> markdown_code("a`b\\n\\n<i>")
    "a'b  <i>"
    """
    return str(text).translate(_LINE_BREAKS).replace("`", "'")


def json_safe(value: Any) -> Any:
    """The value with every non-finite float (``inf`` from ``alpha = 0``, NaN) as None.

    JSON has no infinity or NaN: Python writes the invalid tokens ``Infinity`` and ``NaN``,
    which other JSON readers and PostgreSQL's ``json`` type refuse.

    Examples
    --------
    >>> json_safe({"kl": float("inf"), "bins": [1.0, float("nan")], "n": 3})
    {'kl': None, 'bins': [1.0, None], 'n': 3}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value
