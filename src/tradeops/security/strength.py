"""How strong a secret looks: a conservative entropy estimate for tokens and HMAC keys.

The estimate is the smallest of three bounds, each a ceiling on what the string can hold:
the character classes used (len x log2 of the alphabet they span), the string's own symbol
statistics (len x Shannon entropy per character) and its compressibility (8 bits per byte of
zlib output beyond the empty stream). A random `secrets.token_urlsafe(32)` scores about 208
bits, `secrets.token_hex(32)` about 244; a word, a repeated pattern or a short string scores low.
It cannot prove a secret random (a leaked random string scores high): it refuses obvious ones.
"""

from __future__ import annotations

import math
import string
import zlib
from collections import Counter

GENERATE_HINT = "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
_EMPTY_ZLIB = len(zlib.compress(b"", 9))


def _alphabet_bits(text: str) -> float:
    size = 0
    size += 26 if any(c in string.ascii_lowercase for c in text) else 0
    size += 26 if any(c in string.ascii_uppercase for c in text) else 0
    size += 10 if any(c in string.digits for c in text) else 0
    size += 33 if any(c in string.punctuation or c == " " for c in text) else 0
    size += 128 if any(ord(c) > 127 or (ord(c) < 32) for c in text) else 0
    return math.log2(size) if size > 1 else 0.0


def _shannon_bits(text: str) -> float:
    counts = Counter(text)
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def estimate_entropy_bits(secret: str | bytes) -> int:
    """A conservative estimate of the entropy in `secret`, in bits (0 for an empty secret)."""
    text = secret.decode("latin-1") if isinstance(secret, bytes) else secret
    if not text:
        return 0
    data = text.encode("utf-8", errors="surrogatepass")
    per_char = min(_alphabet_bits(text), _shannon_bits(text))
    compressed = 8 * max(0, len(zlib.compress(data, 9)) - _EMPTY_ZLIB)
    return int(min(len(text) * per_char, compressed))
