"""ONNX files of the family members the benchmark's family table needs and the repository has no
full-size ONNX export of: the batch-norm LeNet and the colour (CIFAR-10 tutorial) net.

Needs PyTorch and the onnx package (Debian: `apt-get install python3-torch python3-onnx`, then
run /usr/bin/python3). Remakes both files in a few seconds:

    /usr/bin/python3 scripts/pytorch/export_bench_onnx.py

    public/models/d2l-lenet-bn.onnx              from tests/fixtures/family/bn-colour/d2l-lenet-bn.safetensors
    public/models/pytorch-cifar10-tutorial.onnx  from tests/fixtures/family/bn-colour/cifar10-tutorial.safetensors

Each safetensors file (float16, made by make_bn_colour_fixtures.py) is loaded into that script's
PyTorch module (D2LLeNetBN, Net) widened to float32 with load_state_dict(strict=True), put in
eval mode and exported as users export it: torch.onnx.export with a dynamic batch axis, opset 13,
input 'input' [batch, C, H, W] float32 (preprocessed as the module expects), output 'logits'
[batch, 10]. The other members' ONNX files exist already: public/models/seed.onnx
(export_onnx.py, the shipped weights) and tests/fixtures/family/{caffe-lenet,pytorch-tutorial}.onnx
(make_family_fixtures.py). The classic model has no ONNX file: its trainable subsampling, sparse
C3 and RBF output are not layers torch.onnx exports as such, and the engine's ONNX reader
does not map them back.

Before writing, each graph passes onnx.checker (full check). That a file computes what its
module computes is checked where it runs: the benchmark's family table compares ONNX Runtime
Web's logits on it with the engine's on the same file before either is timed.
"""
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FIXTURES = REPO / 'tests' / 'fixtures' / 'family' / 'bn-colour'
OUT = REPO / 'public' / 'models'


def export(module, weights: Path, shape: tuple, out: Path) -> None:
    import onnx
    import torch
    from safetensors_compat import load_file

    stored = load_file(str(weights))
    state = module.state_dict()
    state.update({k: v.float() for k, v in stored.items()})
    module.load_state_dict(state, strict=True)
    module.eval()
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(module, torch.zeros(1, *shape), buffer, input_names=['input'], output_names=['logits'],
                          dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=13)
    proto = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    for key, value in {'lenet5.source': weights.relative_to(REPO).as_posix(), 'lenet5.exported_by': 'scripts/pytorch/export_bench_onnx.py',
                       'lenet5.torch': torch.__version__, 'lenet5.onnx': onnx.__version__}.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    out.write_bytes(proto.SerializeToString())
    ops = sorted({n.op_type for n in proto.graph.node})
    print(f'{out.relative_to(REPO)}: {out.stat().st_size} bytes, ops {", ".join(ops)}')


def main() -> int:
    sys.path.insert(0, str(HERE))
    from make_bn_colour_fixtures import D2LLeNetBN, Net

    OUT.mkdir(parents=True, exist_ok=True)
    export(D2LLeNetBN(), FIXTURES / 'd2l-lenet-bn.safetensors', (1, 28, 28), OUT / 'd2l-lenet-bn.onnx')
    export(Net(), FIXTURES / 'cifar10-tutorial.safetensors', (3, 32, 32), OUT / 'pytorch-cifar10-tutorial.onnx')
    return 0


if __name__ == '__main__':
    sys.exit(main())
