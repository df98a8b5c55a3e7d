"""The confirmation form's QR matrices, about twice as fast as segno alone.

segno still encodes each payload into its final codeword bits (segments,
padding, Reed-Solomon error correction). What it does next is the same for
every code of one version at error correction M and mask 0: build the
function patterns, place the bits in the zigzag of the standard, mask and
add the format and version information. Here that is done once per version:
a *template* (segno's own matrix for all-zero data) and the data modules in
placement order; a code is then the template with the modules of its 1 bits
flipped (masking is an exclusive or, so it commutes with placement).

The first code of each version is checked against segno's own matrix; if
they ever differ (another segno, say) or segno's internals are not there,
every code falls back to :func:`pension_collect.ports.forms.payload.qr_matrix`,
so the printed code is always segno's.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from typing import Any

from ...ports.forms.payload import qr_matrix as _segno_matrix

__all__ = ["qr_matrix"]

_MASK = 0
_lock = threading.Lock()
_templates: dict[int, tuple[bytes, tuple[int, ...], int]] = {}
_checked: set[int] = set()
_broken = False


def qr_matrix(payload: str) -> Sequence[Sequence[int]]:
    """The QR code of ``payload`` as rows of 0/1 modules (no quiet zone): the same
    matrix as :func:`pension_collect.ports.forms.payload.qr_matrix`."""
    global _broken
    if _broken:
        return _segno_matrix(payload)
    try:
        version, rows = _fast(payload)
    except Exception:  # segno's internals moved: use its public API from now on
        _broken = True
        return _segno_matrix(payload)
    if version not in _checked:
        expected = _segno_matrix(payload)
        if [bytes(r) for r in rows] != [bytes(r) for r in expected]:
            _broken = True
            return expected
        with _lock:
            _checked.add(version)
    return rows


def _fast(payload: str) -> tuple[int, tuple[bytearray, ...]]:
    # segno's internals, untyped: looked up as plain objects
    consts: Any = importlib.import_module("segno.consts")
    encoder: Any = importlib.import_module("segno.encoder")
    error = consts.ERROR_LEVEL_M
    segments = encoder.prepare_data(payload, None, None)
    version = encoder.find_version(segments, error, eci=False, micro=False)
    buff = encoder.Buffer()
    ver_range = encoder.version_range(version)
    for segment in segments:
        encoder.write_segment(buff, segment, None, ver_range, False)
    capacity = consts.SYMBOL_CAPACITY[version][error]
    encoder.write_terminator(buff, capacity, None, len(buff))
    encoder.write_padding_bits(buff, version, len(buff))
    encoder.write_pad_codewords(buff, version, capacity, len(buff))
    bits = encoder.make_final_message(version, error, buff)
    template, positions, size = _template(encoder, version, error, len(bits))
    flat = bytearray(template)
    for index, bit in zip(positions, bits, strict=False):
        if bit:
            flat[index] ^= 1
    return version, tuple(flat[i : i + size] for i in range(0, size * size, size))


def _template(
    encoder: Any, version: int, error: int, length: int
) -> tuple[bytes, tuple[int, ...], int]:
    found = _templates.get(version)
    if found is not None:
        return found
    size = encoder.calc_matrix_size(version)
    matrix = encoder.make_matrix(size, size)
    encoder.add_finder_patterns(matrix, size, size)
    encoder.add_alignment_patterns(matrix, size, size)
    positions = _placement(matrix, size)
    encoder.add_codewords(matrix, bytearray(length), version)
    _, matrix = encoder.find_and_apply_best_mask(matrix, size, size, _MASK)
    encoder.add_format_info(matrix, version, error, _MASK)
    encoder.add_version_info(matrix, version)
    found = (b"".join(bytes(row) for row in matrix), positions, size)
    with _lock:
        _templates[version] = found
    return found


def _placement(matrix: Sequence[bytearray], size: int) -> tuple[int, ...]:
    """The free (data) modules in the order bits are placed (ISO/IEC 18004 7.7.3:
    two-module columns from the right, alternately upwards and downwards,
    skipping the vertical timing pattern), as flat indices."""
    order = []
    for right in range(size - 1, 0, -2):
        if right <= 6:
            right -= 1
        for vertical in range(size):
            for z in (0, 1):
                j = right - z
                upwards = ((right & 2) == 0) ^ (j < 6)
                i = (size - 1 - vertical) if upwards else vertical
                if matrix[i][j] == 0x2:
                    order.append(i * size + j)
    return tuple(order)
