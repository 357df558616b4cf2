"""Names from the file system made into valid UTF-8 text, for writers that cannot take anything else.

A file or folder name that is not valid UTF-8 (``in-\\xff``) reaches Python as a str with a lone surrogate
(``os.fsdecode``'s surrogateescape: ``'in-\\udcff'``), and safetensors metadata and TOML refuse to encode
it (UnicodeEncodeError). `utf8_safe` writes each such byte as the four characters ``\\xff``: readable, and
what ``ls -b`` shows. It is a record for people, not the path: where a name must be read back exactly
(a checkpoint's ``config``), it goes through ``json.dumps``, whose ``\\udcff`` escapes keep it whole.
"""

from __future__ import annotations


def utf8_safe(text: str) -> str:
    """``text`` itself when it is valid Unicode; else with each undecodable byte as ``\\xNN`` (any other lone
    surrogate as ``\\udNNN``)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join(_char(c) for c in text)


def _char(c: str) -> str:
    o = ord(c)
    if 0xDC80 <= o <= 0xDCFF:  # surrogateescape: the byte o - 0xDC00 of a name
        return f"\\x{o - 0xDC00:02x}"
    if 0xD800 <= o <= 0xDFFF:
        return f"\\u{o:04x}"
    return c
