# syntax=docker/dockerfile:1.7
# The action server (actions/): order lookup with verification, handoff requests, rephrase
# offers. rasa-sdk only (no Rasa), so it is small; any number of replicas behind a Service.
#   docker build -f deploy/images/actions.Dockerfile -t harbor/actions .
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS actions-env
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements/rasa-lock.txt deploy/images/actions-runtime.txt /tmp/requirements/
RUN python3.11 -m venv /opt/venv \
    && /opt/venv/bin/pip install --ignore-requires-python \
       -c /tmp/requirements/rasa-lock.txt -r /tmp/requirements/actions-runtime.txt

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 harbor \
    && useradd --system --uid 10001 --gid harbor --home-dir /app --no-create-home harbor
COPY --from=actions-env /opt/venv /opt/venv
WORKDIR /app
COPY actions/ actions/
COPY orders/ orders/
COPY vocabulary/ vocabulary/
# The FAQ topics' canonical questions, for the rephrase buttons (actions/faq_topics.py).
COPY data/nlu/faq/ data/nlu/faq/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    SANIC_HOST=0.0.0.0 \
    ACTIONS_PORT=5055
USER 10001:10001
EXPOSE 5055
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('ACTIONS_PORT', '5055'), timeout=2)"]
ENTRYPOINT ["/bin/sh", "-c", "exec python -m rasa_sdk --actions actions --port \"${ACTIONS_PORT}\""]
