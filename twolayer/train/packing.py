"""Values as one checksummed blob: a JSON manifest and the raw bytes of their arrays, read back without pickle.

A blob is a fixed header (MAGIC, the format, the manifest's and the arrays' lengths, a CRC-32 of all that follows),
the manifest as JSON, then every array's bytes one after the other. JSON holds plain values as they are and tags
the rest: {"$tuple": [...]}, {"$dict": [[key, value], ...]}, {"$array": i}, {"$tensor": [i, on_cpu]},
{"$floats": [typecode, i]} (an array.array), {"$generator": state}, {"$enum": [kind, value]} and
{"$object": [kind, attributes]}. Objects and enums are only of the kinds the caller names, made without running
their constructors, so reading a blob from a shared database runs no code of its choosing.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from array import array
from collections.abc import Mapping
from enum import Enum
from typing import Any

import numpy as np
import torch

MAGIC = b"twolayer checkpoint\n"
FORMAT = 1  # the layout of blob and manifest; a blob of another format is refused, never guessed at
_HEAD = struct.Struct(f"<{len(MAGIC)}sIQQI")  # magic, format, manifest bytes, array bytes, CRC-32
_DTYPES = "biuf"  # kinds of array a blob may hold: bool, integers, floats (never objects)
_TYPECODES = "bBhHiIlLqQfd"  # array.array's numeric typecodes, which NumPy reads alike


class Unreadable(ValueError):
    """Bytes that are not a blob of this format, or one cut short or damaged; the message says which."""


class Packer:
    """Collects values as JSON nodes and their arrays' bytes, then writes them as one blob."""

    def __init__(self, kinds: Mapping[str, type]) -> None:
        self.kinds = kinds
        self.layouts: list[tuple[str, tuple[int, ...]]] = []  # each array's dtype and shape, in payload order
        self.parts: list[memoryview] = []

    def add(self, value: Any) -> Any:
        """`value` as a JSON node; TypeError names a value of a kind it cannot hold."""
        if isinstance(value, Enum):  # before str: a StrEnum is a str too
            return {"$enum": [self._kind(value), value.value]}
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, list):
            return [self.add(item) for item in value]
        if isinstance(value, tuple):
            return {"$tuple": [self.add(item) for item in value]}
        if isinstance(value, dict):
            return {"$dict": [[self.add(key), self.add(item)] for key, item in value.items()]}
        if isinstance(value, np.ndarray):
            return {"$array": self._array(value)}
        if isinstance(value, torch.Tensor):
            return {"$tensor": [self._array(value.detach().cpu().numpy()), value.device.type == "cpu"]}
        if isinstance(value, array):
            return {"$floats": [value.typecode, self._array(np.frombuffer(value, value.typecode))]}
        if isinstance(value, np.random.Generator):
            return {"$generator": self.add(value.bit_generator.state)}
        return {"$object": [self._kind(value), {name: self.add(item) for name, item in vars(value).items()}]}

    def _kind(self, value: Any) -> str:
        name = type(value).__name__
        if self.kinds.get(name) is not type(value):
            raise TypeError(f"cannot pack a {type(value).__module__}.{type(value).__qualname__}: not a kind it knows")
        return name

    def _array(self, values: np.ndarray) -> int:
        if values.dtype.kind not in _DTYPES:
            raise TypeError(f"cannot pack an array of {values.dtype}: only numbers")
        values = np.ascontiguousarray(values)
        self.layouts.append((values.dtype.str, values.shape))
        self.parts.append(memoryview(values.reshape(-1).view(np.uint8)))
        return len(self.layouts) - 1

    def pack(self, manifest: dict[str, Any]) -> bytes:
        """The blob: `manifest` (JSON of plain values and nodes from `add`) and the arrays they name."""
        text = json.dumps({"manifest": manifest, "arrays": self.layouts}, separators=(",", ":")).encode()
        crc = zlib.crc32(text)
        for part in self.parts:
            crc = zlib.crc32(part, crc)
        size = sum(part.nbytes for part in self.parts)
        return b"".join([_HEAD.pack(MAGIC, FORMAT, len(text), size, crc), text, *self.parts])


class Unpacked:
    """A blob checked whole: its manifest, and its nodes turned back into values on request."""

    def __init__(self, blob: bytes, kinds: Mapping[str, type]) -> None:
        self.blob, self.kinds = blob, kinds
        if not blob.startswith(MAGIC):
            raise Unreadable(f"not a twolayer checkpoint: {len(blob):,} bytes beginning {bytes(blob[:12])!r}")
        if len(blob) < _HEAD.size:
            raise Unreadable(f"cut short: {len(blob):,} bytes, fewer than its header's {_HEAD.size}")
        _, version, text_size, size, crc = _HEAD.unpack_from(blob)
        if version != FORMAT:
            raise Unreadable(f"written in format {version}; this twolayer reads format {FORMAT}")
        expected = _HEAD.size + text_size + size
        if len(blob) != expected:
            cut = "cut short" if len(blob) < expected else "longer than it says"
            raise Unreadable(f"{cut}: {len(blob):,} bytes where its header announces {expected:,}")
        if zlib.crc32(memoryview(blob)[_HEAD.size :]) != crc:
            raise Unreadable("damaged: its contents do not match their checksum")
        try:
            text = json.loads(blob[_HEAD.size : _HEAD.size + text_size])
            self.manifest: dict[str, Any] = text["manifest"]
            self._offsets = self._places(text["arrays"], _HEAD.size + text_size, size)
        except (ValueError, TypeError, KeyError, RecursionError) as error:
            raise Unreadable(f"its manifest does not read: {error}") from None

    @staticmethod
    def _places(layouts: list, start: int, size: int) -> list[tuple[np.dtype, tuple[int, ...], int]]:
        """Each array's dtype, shape and offset in the blob, checked to fill the payload exactly."""
        places, offset = [], start
        for dtype, shape in layouts:
            dtype, shape = np.dtype(dtype), tuple(int(n) for n in shape)
            if dtype.kind not in _DTYPES or min(shape, default=0) < 0:
                raise ValueError(f"an array of {dtype} shaped {shape}")
            places.append((dtype, shape, offset))
            offset += dtype.itemsize * math.prod(shape)
        if offset != start + size:
            raise ValueError(f"its arrays take {offset - start:,} bytes of {size:,}")
        return places

    def value(self, node: Any, device: str = "cpu") -> Any:
        """The value a node stands for, as a new copy; tensors not packed from the CPU go to `device`."""
        try:
            return self._value(node, device)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as error:
            raise Unreadable(f"a value does not read: {error!r}") from None

    def _value(self, node: Any, device: str) -> Any:
        if not isinstance(node, dict):
            return [self._value(item, device) for item in node] if isinstance(node, list) else node
        [(tag, body)] = node.items()
        if tag == "$tuple":
            return tuple(self._value(item, device) for item in body)
        if tag == "$dict":
            return {self._value(key, device): self._value(item, device) for key, item in body}
        if tag == "$array":
            return self._array(body)
        if tag == "$tensor":
            index, on_cpu = body
            tensor = torch.from_numpy(self._array(index))
            return tensor if on_cpu else tensor.to(device)
        if tag == "$floats":
            typecode, index = body
            if typecode not in _TYPECODES:
                raise ValueError(f"typecode {typecode!r}")
            return array(typecode, self._array(index).astype(typecode, copy=False).tobytes())
        if tag == "$generator":
            state = self._value(body, device)
            bits = getattr(np.random, state["bit_generator"])
            if not (isinstance(bits, type) and issubclass(bits, np.random.BitGenerator)):
                raise ValueError(f"{state['bit_generator']!r} is no bit generator")
            generator = np.random.Generator(bits())
            generator.bit_generator.state = state
            return generator
        kind, body = body
        cls = self.kinds[kind]
        if tag == "$enum":
            return cls(body)
        if tag != "$object" or issubclass(cls, Enum):
            raise ValueError(f"tag {tag!r} of {kind}")
        made = cls.__new__(cls)
        made.__dict__.update({name: self._value(item, device) for name, item in body.items()})
        return made

    def _array(self, index: int) -> np.ndarray:
        dtype, shape, offset = self._offsets[index]
        return np.frombuffer(self.blob, dtype, math.prod(shape), offset).reshape(shape).copy()
