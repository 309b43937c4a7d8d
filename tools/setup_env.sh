#!/usr/bin/env bash
# Build the project's virtual environment (.venv) on the pinned OpenMMLab
# stack. Idempotent: when nothing that defines the environment changed since
# the last successful run, it returns in well under a second.
#
# Order matters:
#   1. build tools (setuptools < 82 keeps pkg_resources for mmcv/mmengine),
#   2. torch + torchvision (exact pins; pip takes them from local disk here),
#   3. mmcv 2.1.0 compiled from its sdist with ops, against *that* torch,
#      cached as a wheel in a wheelhouse outside the clone so it is built once
#      per machine (about 10 minutes on 2 idle cores),
#   4. the rest of requirements/, then radplugins itself in editable mode.
#
# Environment knobs:
#   PYTHON                 interpreter for the venv (default: python3.11)
#   VENV                   venv folder (default: .venv)
#   RADPLUGINS_WHEELHOUSE  where built wheels are kept
#                          (default: ~/.cache/radplugins/wheels)
#   MMCV_FORCE_CUDA        1 to compile mmcv's CUDA ops, 0 for CPU only;
#                          default: 1 when torch sees a GPU and nvcc exists.
#   MAX_JOBS               parallel compile jobs (default: number of cores)
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
WHEELHOUSE_ROOT=${RADPLUGINS_WHEELHOUSE:-$HOME/.cache/radplugins/wheels}
TORCH_PIN=2.14.1
TORCHVISION_PIN=0.29.1
MMCV_PIN=2.1.0

stamp_inputs=(requirements/runtime.txt requirements/tests.txt
              requirements/optional.txt tools/setup_env.sh setup.py)
env_hash=$(cat "${stamp_inputs[@]}" | sha256sum | cut -c1-16)
stamp="$VENV/.radplugins-env-$env_hash"
if [[ -f "$stamp" ]]; then
    echo "[env] $VENV is up to date ($stamp)"
    exit 0
fi

log() { echo "[env] $(date +%H:%M:%S) $*"; }
start=$(date +%s)

if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check --progress-bar off)

log "build tools"
"${PIP[@]}" 'setuptools>=77.0.3,<82' wheel ninja

log "torch==$TORCH_PIN torchvision==$TORCHVISION_PIN"
# numpy < 2.4 now, so the later requirements step does not swap it.
"${PIP[@]}" "torch==$TORCH_PIN" "torchvision==$TORCHVISION_PIN" 'numpy<2.4'

if [[ -z "${MMCV_FORCE_CUDA:-}" ]]; then
    if command -v nvcc >/dev/null 2>&1 &&
       "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
        MMCV_FORCE_CUDA=1
    else
        MMCV_FORCE_CUDA=0
    fi
fi
flavour=$([[ "$MMCV_FORCE_CUDA" == 1 ]] && echo cuda || echo cpu)
pytag=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
WHEELHOUSE="$WHEELHOUSE_ROOT/mmcv$MMCV_PIN-torch$TORCH_PIN-$pytag-$flavour"
mkdir -p "$WHEELHOUSE"

if ! ls "$WHEELHOUSE"/mmcv-"$MMCV_PIN"-*.whl >/dev/null 2>&1; then
    log "no mmcv wheel in $WHEELHOUSE: building mmcv $MMCV_PIN ($flavour ops); this takes ~10 min once per machine"
    build_dir=$(mktemp -d)
    trap 'rm -rf "$build_dir"' EXIT
    "$PY" -m pip download --disable-pip-version-check --no-deps \
        --no-binary :all: "mmcv==$MMCV_PIN" -d "$build_dir"
    tar xzf "$build_dir/mmcv-$MMCV_PIN.tar.gz" -C "$build_dir"
    # torch >= 2.14 headers refuse to compile below C++20.
    sed -i 's/-std=c++17/-std=c++20/g' "$build_dir/mmcv-$MMCV_PIN/setup.py"
    if [[ "$MMCV_FORCE_CUDA" == 1 ]]; then
        cuda_env=(FORCE_CUDA=1)
    else
        cuda_env=(CUDA_VISIBLE_DEVICES= FORCE_CUDA=0)
    fi
    # Build into a scratch folder and move the finished wheel in, so an
    # interrupted build never leaves a broken wheel in the wheelhouse.
    env "${cuda_env[@]}" MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        "$PY" -m pip wheel --disable-pip-version-check --no-build-isolation \
        --no-deps -w "$build_dir/dist" "$build_dir/mmcv-$MMCV_PIN"
    mv "$build_dir"/dist/mmcv-"$MMCV_PIN"-*.whl "$WHEELHOUSE"/
    log "mmcv wheel stored in $WHEELHOUSE"
fi

log "mmcv from $WHEELHOUSE"
"${PIP[@]}" --no-index --find-links "$WHEELHOUSE" --no-deps "mmcv==$MMCV_PIN"

log "requirements/"
"${PIP[@]}" --find-links "$WHEELHOUSE" -r requirements/runtime.txt \
    -r requirements/tests.txt -r requirements/optional.txt

# mmpretrain switches on multimodal code when transformers is importable,
# and that code breaks on current transformers releases.
if "$PY" -c 'import transformers' >/dev/null 2>&1; then
    log "removing transformers (breaks mmpretrain's imports)"
    "$PY" -m pip uninstall -y transformers
fi

log "radplugins (editable)"
"${PIP[@]}" --no-deps --no-build-isolation -e .

log "import check"
"$PY" - <<'EOF'
from mmcv.ops import nms, RoIAlign  # noqa: F401  compiled ops present
import mmdet, mmpretrain.models, mmengine, torch, torchvision  # noqa: F401
import radplugins  # noqa: F401
print('[env] torch', torch.__version__, 'mmcv ops OK, mmdet', mmdet.__version__)
EOF
"$PY" -m pip check

rm -f "$VENV"/.radplugins-env-*
touch "$stamp"
log "environment ready in $(( $(date +%s) - start )) s"
