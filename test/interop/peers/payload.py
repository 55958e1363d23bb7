"""Deterministic test payloads shared by the Autobahn|Python peers.

The TypeScript twin is makePayload() in test/interop/peers.ts; both must
produce byte-identical output for the same (size, binary).

binary: byte i = i % 251.
text:   the pattern TEXT_PATTERN (ASCII letters plus multi-byte UTF-8 "é€😀")
        repeated; the remainder that does not fit a whole pattern is filled
        with whole characters of the pattern, in order, while they fit, and
        then padded with "z" so the result is exactly `size` bytes of valid
        UTF-8.
"""

TEXT_PATTERN = "abcdefghijklmnopqrstuvwxyz\u00e9\u20ac\U0001F600ABCDEFGHIJKLMNOPQRSTUVWXYZ"

_BIN_UNIT = bytes(range(251))
_TEXT_UNIT = TEXT_PATTERN.encode("utf-8")  # 61 bytes


def make_payload(size: int, binary: bool) -> bytes:
    if size < 0:
        raise ValueError("size must be >= 0")
    if binary:
        reps = size // len(_BIN_UNIT) + 1
        return (_BIN_UNIT * reps)[:size]
    reps, rest = divmod(size, len(_TEXT_UNIT))
    tail = bytearray()
    for ch in TEXT_PATTERN:
        b = ch.encode("utf-8")
        if len(tail) + len(b) > rest:
            break
        tail += b
    tail += b"z" * (rest - len(tail))
    return _TEXT_UNIT * reps + bytes(tail)
