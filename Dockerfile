# syntax=docker/dockerfile:1.7
# Multi-stage build: compile with the Rust toolchain, run from a small distroless image as non-root.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and build artefacts between builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin bonusbridge \
 && install -D target/release/bonusbridge /out/bonusbridge \
 && mkdir -p /out/data

FROM gcr.io/distroless/cc-debian12:nonroot
WORKDIR /app
COPY --from=build /out/bonusbridge /usr/local/bin/bonusbridge
COPY --from=build /src/config /app/config
# The embedded SQLite default writes here; mount a volume (or use PostgreSQL) to keep data.
COPY --from=build --chown=nonroot:nonroot /out/data /app/data
USER nonroot
ENV BONUSBRIDGE__SERVER__LISTEN=0.0.0.0:8080 \
    BONUSBRIDGE__SERVER__LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/bonusbridge", "health"]
ENTRYPOINT ["/usr/local/bin/bonusbridge"]
CMD ["serve"]
