"""The shipped seed model as an ONNX file, for ONNX Runtime Web in the benchmark page.

Needs PyTorch and the onnx package (on Debian: `apt-get install python3-torch python3-onnx`,
then run Debian's /usr/bin/python3). Remake the committed file with

    /usr/bin/python3 scripts/pytorch/export_onnx.py

which loads weights/seed.safetensors into LeNet5Seed (lenet5_seed.py) with
load_state_dict(strict=True), exactly as export_reference.py does, and exports it with
torch.onnx.export:

    input   'input'   float32 [batch, 1, 28, 28], pixel / 255 (0 = background, 1 = ink)
    output  'logits'  float32 [batch, 10]

The batch axis is dynamic; the opset is 13 unless --opset says otherwise (17 is the highest
torch 1.13 writes). The initialisers keep the state_dict names (conv1.weight, …, fc3.bias).
torch 1.13 writes each average pooling as a Pad of zeros before the AveragePool;
those no-op Pads are removed, so the graph is Conv, Sigmoid, AveragePool, Flatten and Gemm
only. The file's metadata_props record where it came from: the source file and its sha256, the
torch and onnx versions, the opset. The same torch and onnx versions write the same bytes, so
a rerun that changes the file means the weights or the exporter changed.

Before writing, the script checks the model with onnx.checker and shape inference, and checks
that the exported graph's initialisers equal the safetensors tensors bit for bit (after
constant folding, which leaves them as they are in this graph). That the ONNX file computes
what PyTorch computes is checked where it runs: the benchmark page runs it in ONNX Runtime Web
and compares its logits with the engine's before timing it.
"""
import argparse
import hashlib
import io
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def main() -> int:
    sys.path.insert(0, str(HERE))
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--weights', default=str(REPO / 'weights' / 'seed.safetensors'), help='a seed-model safetensors file')
    parser.add_argument('--out', default=str(REPO / 'public' / 'models' / 'seed.onnx'))
    parser.add_argument('--opset', type=int, default=13, choices=range(13, 18), metavar='13..17')
    args = parser.parse_args()

    import onnx
    from onnx import numpy_helper
    import torch
    from export_reference import load_seed_model
    from safetensors_compat import load_file

    weights = Path(args.weights)
    model = load_seed_model(weights)
    model.eval()
    example = torch.zeros(2, 1, 28, 28, dtype=torch.float32)
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            model,
            example,
            buffer,
            input_names=['input'],
            output_names=['logits'],
            dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}},
            opset_version=args.opset,
            do_constant_folding=True,
            export_params=True,
        )
    proto = onnx.load_from_string(buffer.getvalue())
    removed = drop_zero_pads(proto)
    source = weights.relative_to(REPO).as_posix() if weights.is_relative_to(REPO) else weights.name
    for key, value in {
        'lenet5.model': 'seed',
        'lenet5.source': source,
        'lenet5.source_sha256': hashlib.sha256(weights.read_bytes()).hexdigest(),
        'lenet5.exported_by': 'scripts/pytorch/export_onnx.py',
        'lenet5.torch': torch.__version__,
        'lenet5.onnx': onnx.__version__,
        'lenet5.input': 'input: float32 [batch, 1, 28, 28], pixel / 255',
        'lenet5.output': 'logits: float32 [batch, 10]',
    }.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = 'LeNet-5 (seed variant) from lenet5-webgpu weights/seed.safetensors'

    onnx.checker.check_model(proto, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True)
    output = inferred.graph.output[0].type.tensor_type.shape.dim
    if [d.dim_param or d.dim_value for d in output] != ['batch', 10]:
        raise SystemExit(f'expected the output shape [batch, 10], found {[d.dim_param or d.dim_value for d in output]}')

    tensors = {k: v.float().numpy() for k, v in load_file(str(weights)).items()}
    initialisers = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    for name, expected in tensors.items():
        found = initialisers.get(name)
        if found is None:
            raise SystemExit(f'{name}: not an initialiser of the exported graph (found {sorted(initialisers)})')
        if found.shape != expected.shape or found.dtype != np.float32 or found.tobytes() != expected.tobytes():
            raise SystemExit(f'{name}: the graph holds {found.dtype} {list(found.shape)}, not the file\'s tensor bit for bit')

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = proto.SerializeToString()
    out.write_bytes(data)
    ops = sorted({n.op_type for n in proto.graph.node})
    print(f'{out}: {len(data):,} bytes, opset {args.opset}, {len(proto.graph.node)} nodes ({", ".join(ops)}; '
          f'{removed} zero Pad nodes removed), sha256 {hashlib.sha256(data).hexdigest()}')
    return 0


def drop_zero_pads(proto) -> int:
    """Removes each Pad whose pads are all zero (and the Constant that held them).

    torch 1.13 exports F.avg_pool2d as Pad(zeros) → AveragePool; the Pad copies its input and
    nothing reads its zero padding, so a consumer of the graph is given AveragePool directly.
    Returns how many Pad nodes were removed.
    """
    from onnx import numpy_helper

    graph = proto.graph
    constants = {n.output[0]: n for n in graph.node if n.op_type == 'Constant'}
    rename = {}
    dropped = []
    for node in graph.node:
        if node.op_type != 'Pad' or len(node.input) < 2 or node.input[1] not in constants:
            continue
        mode = next((a.s.decode() for a in node.attribute if a.name == 'mode'), 'constant')
        pads = numpy_helper.to_array(constants[node.input[1]].attribute[0].t)
        if mode != 'constant' or pads.any() or (len(node.input) > 2 and node.input[2]):
            continue
        rename[node.output[0]] = node.input[0]
        dropped += [node, constants[node.input[1]]]
    for node in dropped:
        graph.node.remove(node)
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in rename:
                node.input[i] = rename[name]
    if any(o.name in rename for o in graph.output):
        raise SystemExit('a zero Pad feeds the graph output: not removed')
    return len(dropped) // 2


if __name__ == '__main__':
    sys.exit(main())
