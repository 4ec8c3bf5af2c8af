# romcam in a container: the demo by default. Video never leaves the container; the model is bundled.
FROM python:3.11-slim

# mediapipe brings opencv-contrib-python, whose cv2 needs libGL and libglib at import
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY romcam ./romcam
COPY models ./models
COPY web ./web
# editable: the package finds models/ and web/ beside itself, as in a checkout
RUN pip install --no-cache-dir -e .

ENV ROMCAM_DATA=/data
VOLUME /data
ENTRYPOINT ["romcam"]
# the demo analysis into /data; `docker run ... serve` serves the dashboard (loopback inside the
# container until issue 7 brings authentication for other addresses)
CMD ["demo"]
