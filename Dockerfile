# idcon serve in a container: a static binary on distroless (CA
# certificates, /etc/passwd with nonroot, nothing else), as nonroot.
#
#   docker build -t idcon .
#   docker run -d --name idcon -p 2222:2222 \
#     -v idcon-state:/var/lib/idcon -v /srv/idcon/etc:/etc/idcon:ro idcon
#
# /var/lib/idcon holds the database, host key, audit log and console state;
# /etc/idcon holds config.yaml (optional) and authorized_keys. See
# docs/OPERATING.md.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=
ARG DATE=
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/idcon/idcon/cli.Version=${VERSION} -X github.com/idcon/idcon/cli.Commit=${COMMIT} -X github.com/idcon/idcon/cli.Date=${DATE}" \
      -o /out/idcon . \
 && mkdir -p /out/state /out/etc \
 && printf 'networks: []\n' > /out/etc/config.yaml \
 && printf '# role="admin",name="alice" ssh-ed25519 AAAA... alice@laptop\n' > /out/etc/authorized_keys

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/idcon /usr/bin/idcon
COPY --from=build --chown=nonroot:nonroot /out/state /var/lib/idcon
COPY --from=build /out/etc /etc/idcon
ENV HOME=/var/lib/idcon XDG_DATA_HOME=/var/lib XDG_CONFIG_HOME=/etc
USER nonroot:nonroot
VOLUME ["/var/lib/idcon", "/etc/idcon"]
EXPOSE 2222 9222
# idcon health asks /healthz from inside the container (the
# image has no shell and no curl).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/bin/idcon", "health", "http://127.0.0.1:9222/healthz"]
ENTRYPOINT ["/usr/bin/idcon", "serve", \
  "--listen", "0.0.0.0:2222", \
  "--db", "/var/lib/idcon/idcon.db", \
  "--config", "/etc/idcon/config.yaml", \
  "--host-key", "/var/lib/idcon/ssh_host_ed25519_key", \
  "--authorized-keys", "/etc/idcon/authorized_keys", \
  "--health-listen", "0.0.0.0:9222", \
  "--log-format", "json"]
