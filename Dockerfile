# syntax=docker/dockerfile:1

# ---- build ----------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
# The cargo registry and target dir are BuildKit cache mounts (kept between
# builds, not part of the image), so the binary is copied out of target/.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin scholargraph \
 && install -D -m 0755 target/release/scholargraph /out/scholargraph

# ---- runtime --------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 scholargraph \
 && useradd --system --uid 10001 --gid scholargraph --home-dir /app \
        --no-create-home --shell /usr/sbin/nologin scholargraph \
 && mkdir -p /app/data \
 && chown -R scholargraph:scholargraph /app

COPY --from=builder /out/scholargraph /usr/local/bin/scholargraph

WORKDIR /app
USER scholargraph:scholargraph
ENV BIND=0.0.0.0:8000
EXPOSE 8000
ENTRYPOINT []
CMD ["scholargraph", "serve"]
