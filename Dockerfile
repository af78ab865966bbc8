# syntax=docker/dockerfile:1
# TracePulse image for amd64 (x86_64 hosts and clusters), built from the compiled executable.
#
#   scripts/build                   # makes dist/tracepulse-linux-x64
#   docker buildx build --platform linux/amd64 -f Dockerfile -t tracepulse:amd64 .
#
# No RUN step runs in the amd64 stage, so the build needs no emulation on any build machine.
# Data: /var/lib/tracepulse (a volume). Settings: TRACEPULSE_* environment variables.

# Runs on the build machine's own architecture, only to make the service account and folders.
FROM --platform=$BUILDPLATFORM debian:bookworm-slim AS prep
RUN groupadd --system --gid 10001 tracepulse \
  && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/tracepulse --no-create-home \
    --shell /usr/sbin/nologin tracepulse \
  && mkdir -p /rootfs/var/lib/tracepulse \
  && chown 10001:10001 /rootfs/var/lib/tracepulse && chmod 0750 /rootfs/var/lib/tracepulse

FROM --platform=linux/amd64 debian:bookworm-slim
# passwd and group are the same in every architecture of this base image, plus our account.
COPY --from=prep /etc/passwd /etc/group /etc/
# Copy the folder's parent, so the data folder itself is a copied item and gets the owner.
COPY --from=prep --chown=10001:10001 --chmod=0750 /rootfs/var/lib/ /var/lib/
COPY --chmod=0755 dist/tracepulse-linux-x64 /usr/local/bin/tracepulse
COPY --chmod=0755 edge/healthcheck.sh /usr/local/bin/tracepulse-healthcheck
COPY --chmod=0644 system-map.yaml /etc/tracepulse/system-map.yaml

ENV TRACEPULSE_HOST=0.0.0.0 \
  TRACEPULSE_PORT=3000 \
  TRACEPULSE_DATA_DIR=/var/lib/tracepulse \
  TRACEPULSE_SYSTEM_MAP=/etc/tracepulse/system-map.yaml
WORKDIR /var/lib/tracepulse
USER 10001:10001
VOLUME ["/var/lib/tracepulse"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/tracepulse-healthcheck"]
# SIGTERM lets the server finish in-flight writes; give it time: docker stop -t 20.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/tracepulse"]
CMD ["serve"]
