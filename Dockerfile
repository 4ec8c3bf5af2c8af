# romcam as a clinic server: the PT's dashboard and the REST API on PostgreSQL, behind an HTTPS
# reverse proxy (docs/deploy.md; compose.yaml runs it with its database). It holds no camera and
# sees no video: `serve --no-live`. The install steps are `make install`'s, without the test
# tools (tests/test_deploy.py fails when the two drift apart).
FROM python:3.11-slim

# mediapipe brings opencv-contrib-python, whose cv2 needs libGL and libglib at import.
# Debian's security updates replace exact versions, so they are not pinned.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 romcam \
 && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/romcam romcam \
 && install -d -o romcam -g romcam /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY romcam ./romcam
COPY models ./models
COPY web ./web

# as `make install`: a venv, pip upgraded, romcam installed editable (it finds models/ and web/
# beside itself, as in a checkout); the [test] extras stay out of a server
RUN python -m venv .venv \
 && .venv/bin/pip install --quiet --no-cache-dir --upgrade pip \
 && .venv/bin/pip install --quiet --no-cache-dir -e .

# ROMCAM_DB (postgresql://...) and the secrets come from the environment (compose.yaml)
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ROMCAM_DATA=/data \
    ROMCAM_PORT=8000 \
    ROMCAM_AUTH=clinic

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; url = 'http://127.0.0.1:%s/healthz' % os.environ.get('ROMCAM_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(url, timeout=4).status == 200 else 1)"]
ENTRYPOINT ["romcam"]
CMD ["serve", "--host", "0.0.0.0", "--no-live"]
