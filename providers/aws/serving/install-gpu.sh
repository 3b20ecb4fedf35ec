#!/bin/sh
# Install the fakewatch wheel with the given extras into /opt/fakewatch, then make sure the
# CUDA build of ONNX Runtime is the one importable as `onnxruntime`: the core depends on the
# CPU wheel, and both wheels install the same package directory.
set -eu
extras="$1"
python3.11 -m venv /opt/fakewatch
pip="/opt/fakewatch/bin/pip"
"$pip" install --no-cache-dir --upgrade pip
"$pip" install --no-cache-dir "$(ls /dist/fakewatch-*.whl)[$extras]"
version="$("$pip" show onnxruntime-gpu | sed -n 's/^Version: //p')"
"$pip" uninstall -y onnxruntime
"$pip" install --no-cache-dir --no-deps --force-reinstall "onnxruntime-gpu==$version"
/opt/fakewatch/bin/python -c "import onnxruntime as o; assert 'CUDAExecutionProvider' in o.get_available_providers()"
