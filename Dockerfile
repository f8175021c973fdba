# Builds the shramsetu binary and a small runtime image. Not exercised by CI (no Docker engine there).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p shramsetu

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/shramsetu shramsetu && mkdir -p /var/lib/shramsetu/keys \
    && chown -R shramsetu /var/lib/shramsetu
COPY --from=build /src/target/release/shramsetu /usr/local/bin/shramsetu
COPY config /etc/shramsetu/config
USER shramsetu
WORKDIR /etc/shramsetu
ENV SHRAMSETU_ENV=production
EXPOSE 8080
ENTRYPOINT ["shramsetu"]
CMD ["serve"]
