# distml in a container: `distml serve` as the entry point, on a small Debian runtime image,
# running as a non-root user.
#
#   docker build -t distml .
#   docker run --rm -p 127.0.0.1:8080:8080 -v "$PWD/model:/models/model:ro" distml --model /models/model
#
# Both stages' images are build arguments, so a machine without a registry can build on
# images of its own (tests/docker/images.sh makes them with debootstrap):
#   --build-arg RUST_IMAGE=…  an image with cargo and a C compiler (default: the official one)
#   --build-arg BASE_IMAGE=…  the Debian the binary runs on (default: bookworm-slim)
# Written for the classic builder too (no BuildKit-only syntax).

ARG RUST_IMAGE=rust:1-slim-bookworm
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
WORKDIR /src
# Only what the binary is built from, so edits to docs or tests keep the build layer cached.
COPY Cargo.toml Cargo.lock build.rs ./
COPY proto proto
COPY benches benches
COPY src src
# No debug line tables and no symbols: a 5× smaller binary (backtraces keep function names).
ENV CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_PROFILE_RELEASE_STRIP=debuginfo
RUN cargo build --release --locked --bin distml \
 && cp target/release/distml /usr/local/bin/distml \
 && rm -rf target

FROM ${BASE_IMAGE}
# TLS roots for an https tracking server (bookworm-slim has none; a base that has them is kept).
RUN if [ ! -e /etc/ssl/certs/ca-certificates.crt ]; then \
      apt-get update && apt-get install -y --no-install-recommends ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/distml distml
COPY --from=build /usr/local/bin/distml /usr/local/bin/distml
USER 10001:10001
WORKDIR /home/distml
ENV DISTML_SERVE_HOST=0.0.0.0 \
    DISTML_MODEL_CACHE=/home/distml/.cache/distml/models
EXPOSE 8080
# SIGTERM drains: readiness turns 503, in-flight requests finish (--drain-timeout), then exit.
STOPSIGNAL SIGTERM
ENTRYPOINT ["distml", "serve"]
CMD ["--model", "/models/model"]
