# syntax=docker/dockerfile:1.7
# The NLG server (bot/nlg_server.py): renders the assistant's replies from domain.yml and the
# FAQ files with Rasa's own templating. It binds 127.0.0.1 only, so it runs beside each Rasa
# server in the same network namespace (a sidecar in the Rasa pod; docs/deployment.md).
#   docker build -f deploy/images/nlg.Dockerfile -t harbor/nlg .
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

# The Rasa environment (the same stage as in rasa.Dockerfile: a build shares its cache).
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

FROM ${PYTHON_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends libfreetype6=2.12.1+dfsg-5+deb12u4 libqhull-r8.0=2020.2-5 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 harbor \
    && useradd --system --uid 10001 --gid harbor --home-dir /app --no-create-home harbor
COPY --from=rasa-env /opt/venv /opt/venv
WORKDIR /app
COPY bot/ bot/
COPY understanding/ understanding/
COPY vocabulary/ vocabulary/
COPY domain.yml ./
COPY data/nlu/ data/nlu/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RASA_TELEMETRY_ENABLED=false \
    HOME=/tmp \
    NLG_PORT=5056
USER 10001:10001
EXPOSE 5056
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('NLG_PORT', '5056'), timeout=2)"]
ENTRYPOINT ["python", "-m", "bot.nlg_server"]
