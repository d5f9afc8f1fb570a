# syntax=docker/dockerfile:1
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/gewe-bridge . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gewe-bridge /usr/local/bin/gewe-bridge
COPY --from=build --chown=65532:65532 /out/data /data
COPY rules.example.yaml /etc/gewe-bridge/rules.yaml
ENV STORAGE_PATH=/data/gewe-bridge.db
VOLUME /data
EXPOSE 8080
USER nonroot
HEALTHCHECK --interval=30s --timeout=3s CMD ["/usr/local/bin/gewe-bridge", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/gewe-bridge"]
CMD ["serve", "--config", "/etc/gewe-bridge/rules.yaml"]
