# syntax=docker/dockerfile:1.7
# The Rasa server with the trained assistant model inside. Built from the repository root:
#   docker build -f deploy/images/rasa.Dockerfile -t harbor/rasa .
# The model is trained here, by `python -m bot.model` (what `make model` runs), from the
# committed config.yml, domain.yml and data/: the image is a function of the commit, and the
# model's name carries the fingerprint of exactly those inputs (docs/deployment.md, "The model").
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

# Rasa 3.6 pins matplotlib 3.5.3, which has no cp311 wheel: it builds against Debian's freetype
# and qhull, as scripts/venv.sh does. Versions from requirements/rasa-lock.txt.
FROM ${PYTHON_IMAGE} AS rasa-env
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 MPLSETUPCFG=/tmp/mplsetup.cfg
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential=12.9 pkg-config=1.8.1-1 \
       libfreetype-dev=2.12.1+dfsg-5+deb12u4 libqhull-dev=2020.2-5 \
    && rm -rf /var/lib/apt/lists/*
COPY requirements/rasa-lock.txt deploy/images/rasa-runtime.txt /tmp/requirements/
RUN printf '[libs]\nsystem_freetype = True\nsystem_qhull = True\n' > /tmp/mplsetup.cfg \
    && python3.11 -m venv /opt/venv \
    && /opt/venv/bin/pip install --ignore-requires-python \
       -c /tmp/requirements/rasa-lock.txt -r /tmp/requirements/rasa-runtime.txt

# The encoder's weights and ONNX graph (the same stage as in handoff.Dockerfile).
FROM ${PYTHON_IMAGE} AS encoder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 HARBOR_CACHE=/opt/harbor/cache
COPY requirements/app-lock.txt deploy/images/encoder-build.txt /tmp/requirements/
RUN python3.11 -m venv /opt/encoder \
    && /opt/encoder/bin/pip install -c /tmp/requirements/app-lock.txt -r /tmp/requirements/encoder-build.txt
WORKDIR /src
COPY understanding/ understanding/
RUN /opt/encoder/bin/python -m understanding.weights --fetch \
    && /opt/encoder/bin/python -m understanding.graph --build

FROM rasa-env AS model
ENV PATH=/opt/venv/bin:$PATH HARBOR_CACHE=/opt/harbor/cache RASA_TELEMETRY_ENABLED=false
COPY --from=encoder /opt/harbor/cache/embedders /opt/harbor/cache/embedders
WORKDIR /src
COPY config.yml domain.yml ./
COPY data/nlu/ data/nlu/
COPY data/rules/ data/rules/
COPY data/stories/ data/stories/
COPY bot/ bot/
COPY understanding/ understanding/
COPY vocabulary/ vocabulary/
RUN python -m bot.model

FROM ${PYTHON_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends libfreetype6=2.12.1+dfsg-5+deb12u4 libqhull-r8.0=2020.2-5 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 harbor \
    && useradd --system --uid 10001 --gid harbor --home-dir /app --no-create-home harbor
COPY --from=rasa-env /opt/venv /opt/venv
COPY --from=encoder /opt/harbor/cache/embedders /opt/harbor/cache/embedders
WORKDIR /app
COPY bot/ bot/
COPY understanding/ understanding/
COPY vocabulary/ vocabulary/
COPY credentials.yml ./
COPY deploy/images/endpoints.yml deploy/images/rasa-entrypoint.sh deploy/
COPY --from=model /src/models/ models/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HARBOR_CACHE=/opt/harbor/cache \
    RASA_TELEMETRY_ENABLED=false \
    HOME=/tmp \
    RASA_PORT=5005
USER 10001:10001
EXPOSE 5005
# Rasa listens only once the model is loaded, and `/` answers without the token.
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/' % os.environ.get('RASA_PORT', '5005'), timeout=2)"]
ENTRYPOINT ["/bin/sh", "/app/deploy/rasa-entrypoint.sh"]
