# The civic binary on a minimal image; it needs DATABASE_URL (see docker-compose.yml).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /civic ./cmd/civic

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /civic /civic
ENTRYPOINT ["/civic"]
CMD ["serve"]
