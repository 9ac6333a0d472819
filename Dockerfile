# The gameworker image: one image for every role (migrate, worker, beat, flower); the command
# picks the role. Built by `docker compose build` (docker-compose.yml, docs/deploy.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GAMEWORKER_HOME=/var/lib/gameworker

# The dependencies first, from pyproject.toml alone, so a code change reuses this layer.
WORKDIR /app
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY celeryconfig.py ./
COPY domain ./domain
COPY persistence ./persistence
COPY tasks ./tasks
COPY workers ./workers
# `gameworker bench` is a subcommand, so its package ships too.
COPY bench ./bench
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home-dir /var/lib/gameworker --create-home gameworker

# Never root at run time. GAMEWORKER_HOME holds beat's schedule file and its lock when the
# broker is not Redis (mount a volume there for the beat service).
USER gameworker
WORKDIR /var/lib/gameworker
ENTRYPOINT ["gameworker"]
CMD ["worker"]
