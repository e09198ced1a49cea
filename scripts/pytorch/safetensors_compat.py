"""Save and load a PyTorch state_dict as safetensors, with or without the `safetensors` library.

When the library is importable, `save_file` / `load_file` are `safetensors.torch`'s own. When it
is not (Debian ships python3-torch but no safetensors package, and this project's machines have
no PyPI), they fall back to the small writer and reader below. The writer produces what
`safetensors.torch.save_file(tensors, path)` produces, byte for byte, following the library's
Rust serializer (safetensors/src/tensor.rs, `prepare` and `Metadata::serialize`):

- tensors sorted by dtype, largest alignment first (the order of Rust's `Dtype` enum, reversed),
  then by name compared as UTF-8 bytes (Rust's `String` ordering);
- the header is compact JSON (serde_json: no spaces), `__metadata__` first and only when given,
  then one `{"dtype":…,"shape":[…],"data_offsets":[begin,end]}` entry per tensor in that order;
- the header is padded with spaces to a multiple of 8 bytes, preceded by its length as an
  unsigned 64-bit little-endian integer, and followed by each tensor's raw little-endian bytes,
  back to back, in the same order.

`WRITER` says which one is in use, so outputs can record it. The fallback is checked against
the byte vectors of the library's own unit tests by `python3 safetensors_compat.py`.

    from safetensors_compat import save_file, load_file
    save_file(model.state_dict(), 'seed.safetensors')
    model.load_state_dict(load_file('seed.safetensors'), strict=True)
"""
import json
import struct
from pathlib import Path
from typing import Dict, Optional

import torch

# safetensors' dtype names, in the declaration order of its Rust `Dtype` enum (increasing
# alignment), restricted to the dtypes PyTorch 1.13 has.
_DTYPES = [
    ('BOOL', torch.bool),
    ('U8', torch.uint8),
    ('I8', torch.int8),
    ('I16', torch.int16),
    ('F16', torch.float16),
    ('BF16', torch.bfloat16),
    ('I32', torch.int32),
    ('F32', torch.float32),
    ('F64', torch.float64),
    ('I64', torch.int64),
]
_NAME_OF = {dtype: name for name, dtype in _DTYPES}
_DTYPE_OF = {name: dtype for name, dtype in _DTYPES}
_RANK_OF = {name: rank for rank, (name, _) in enumerate(_DTYPES)}


def _tensor_bytes(name: str, tensor: torch.Tensor) -> bytes:
    if tensor.layout != torch.strided or not tensor.is_contiguous():
        raise ValueError(f'{name}: save_file needs contiguous strided tensors (call .contiguous())')
    if tensor.dtype not in _NAME_OF:
        raise ValueError(f'{name}: dtype {tensor.dtype} has no safetensors name here')
    flat = tensor.detach().cpu().reshape(-1)
    if flat.element_size() > 1 and struct.pack('=H', 1) != struct.pack('<H', 1):
        raise ValueError('big-endian hosts are not supported by this writer')
    # A uint8 view of the same storage: the tensor's raw bytes, with no copy through numpy.
    return flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b''


def serialize(tensors: Dict[str, torch.Tensor], metadata: Optional[Dict[str, str]] = None) -> bytes:
    """The bytes `safetensors.torch.save(tensors, metadata)` returns (see the module docstring)."""
    entries = sorted(
        ((name, _NAME_OF.get(t.dtype, ''), t) for name, t in tensors.items()),
        key=lambda e: (-_RANK_OF.get(e[1], -1), e[0].encode('utf-8')),
    )
    header: Dict[str, object] = {}
    if metadata is not None:
        header['__metadata__'] = dict(metadata)
    chunks = []
    offset = 0
    for name, dtype, tensor in entries:
        data = _tensor_bytes(name, tensor)
        header[name] = {'dtype': dtype, 'shape': list(tensor.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    return struct.pack('<Q', len(text)) + text + b''.join(chunks)


def deserialize(data: bytes) -> Dict[str, torch.Tensor]:
    """The tensors of a safetensors file's bytes (metadata is ignored), as fresh CPU tensors."""
    (length,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + length].decode('utf-8'))
    body = data[8 + length:]
    tensors = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        begin, end = info['data_offsets']
        dtype = _DTYPE_OF[info['dtype']]
        raw = torch.frombuffer(bytearray(body[begin:end]), dtype=torch.uint8) if end > begin else torch.empty(0, dtype=torch.uint8)
        tensors[name] = raw.view(dtype).reshape(info['shape'])
    return tensors


try:
    import safetensors
    from safetensors.torch import load_file, save_file

    WRITER = f'safetensors {safetensors.__version__} (safetensors.torch.save_file)'
except ImportError:
    WRITER = 'safetensors_compat.serialize (the safetensors library was not installed)'

    def save_file(tensors: Dict[str, torch.Tensor], filename: str, metadata: Optional[Dict[str, str]] = None) -> None:
        """Drop-in for `safetensors.torch.save_file`."""
        Path(filename).write_bytes(serialize(tensors, metadata))

    def load_file(filename: str) -> Dict[str, torch.Tensor]:
        """Drop-in for `safetensors.torch.load_file` (CPU only)."""
        return deserialize(Path(filename).read_bytes())


def _self_test() -> None:
    """The fallback writer against the serialized bytes in safetensors' own Rust unit tests."""
    six = torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float32)
    data = struct.pack('<6f', *range(6))
    # test_serialization: 'attn.0', [1, 2, 3]: a 64-byte header that needs no padding.
    header = b'{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'
    assert serialize({'attn.0': six.reshape(1, 2, 3)}) == struct.pack('<Q', 64) + header + data
    # test_serialization_forced_alignement: 'attn0', [1, 1, 2, 3]: 65 bytes padded with 7 spaces.
    header = b'{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}' + b' ' * 7
    assert serialize({'attn0': six.reshape(1, 1, 2, 3)}) == struct.pack('<Q', 72) + header + data
    # test_empty, without and with metadata.
    assert serialize({}) == struct.pack('<Q', 8) + b'{}' + b' ' * 6
    assert serialize({}, {'framework': 'pt'}) == struct.pack('<Q', 40) + b'{"__metadata__":{"framework":"pt"}}' + b' ' * 5
    # Order: larger alignment first, then name by UTF-8 bytes.
    mixed = serialize({'b': torch.zeros(1, dtype=torch.float16), 'c': torch.zeros(1), 'a': torch.zeros(1)})
    names = list(json.loads(mixed[8:8 + struct.unpack('<Q', mixed[:8])[0]]))
    assert names == ['a', 'c', 'b'], names
    back = deserialize(serialize({'w': six.reshape(2, 3), 'h': six.half()}))
    assert torch.equal(back['w'], six.reshape(2, 3)) and torch.equal(back['h'], six.half())
    print(f'fallback writer matches the library test vectors; in use: {WRITER}')


if __name__ == '__main__':
    _self_test()
