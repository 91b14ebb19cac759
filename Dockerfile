# Build: the binary embeds migrations, templates, locales, static files and
# reference data; the runtime image adds only CA certificates and the CJK fonts
# the certificate PDF is set in.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && cp target/release/jiliang /jiliang

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/* && useradd --system --create-home --home-dir /var/lib/jiliang jiliang
COPY --from=build /jiliang /usr/local/bin/jiliang
USER jiliang
# ./data and, beside it, the audit signing key and anchors file
# (data.audit-key, data.audit-anchors.jsonl) unless JILIANG_AUDIT_* say otherwise.
WORKDIR /var/lib/jiliang
ENV JILIANG_ADDR=0.0.0.0:8080
EXPOSE 8080
CMD ["jiliang", "serve"]
