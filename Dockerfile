# One image for every Statewright process; docker-compose.yml picks the command
# (`statewright migrate`, `statewright worker` or `statewright api`).
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATEWRIGHT_DATA_DIR=/home/statewright/data

RUN groupadd --system --gid 10001 statewright \
    && useradd --system --uid 10001 --gid statewright --create-home \
       --home-dir /home/statewright statewright \
    && mkdir -p /home/statewright/data \
    && chown statewright:statewright /home/statewright/data

WORKDIR /app

# Dependencies first, from the exact lock CI tested, so a source edit does not
# reinstall them.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

# Then the project itself, without touching the dependencies installed above.
COPY pyproject.toml README.md ./
COPY statewright ./statewright
COPY core ./core
COPY api ./api
COPY worker ./worker
COPY workflows ./workflows
COPY activities ./activities
COPY migrations ./migrations
RUN pip install --no-cache-dir --no-deps . \
    && rm -rf build ./*.egg-info

USER statewright

EXPOSE 8000
CMD ["statewright", "api"]
