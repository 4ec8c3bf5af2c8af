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
RUN pip install --no-cache-dir .

# the package finds the bundled model through ROMCAM_MODEL when installed non-editable
ENV ROMCAM_MODEL=/app/models/pose_landmarker_full.task
ENTRYPOINT ["romcam"]
CMD ["demo"]
