# syntax=docker/dockerfile:1
# Production image: the packaged gateway only (no embedded PostgreSQL, no fal simulator: those live
# in src/test). Start-up stops with one clear message when FAL_KEY, FALGATE_ADMIN_KEY or the
# database is missing.

FROM eclipse-temurin:17-jdk AS build
WORKDIR /src
COPY .mvn .mvn
COPY mvnw pom.xml ./
RUN ./mvnw -B -ntp -q dependency:go-offline || true
COPY db db
COPY src src
RUN ./mvnw -B -ntp -q -DskipTests package \
 && java -Djarmode=tools -jar target/falgate-*.jar extract --layers --launcher --destination /layers

FROM eclipse-temurin:17-jre
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin falgate
WORKDIR /app
# Layers from least to most often changed, so a code change rebuilds only the last one.
COPY --from=build /layers/dependencies/ ./
COPY --from=build /layers/spring-boot-loader/ ./
COPY --from=build /layers/snapshot-dependencies/ ./
COPY --from=build /layers/application/ ./
# completed videos are copied here (FALGATE_ARCHIVE_DIR); a named volume in docker-compose.yml keeps them
RUN mkdir -p /var/lib/falgate/archive && chown 10001:10001 /var/lib/falgate/archive
ENV FALGATE_ARCHIVE_DIR=/var/lib/falgate/archive
VOLUME /var/lib/falgate/archive
USER 10001:10001
# 8080: the API; 9090: metrics and health details (MANAGEMENT_SERVER_PORT), for the scraper only
EXPOSE 8080 9090
# The heap holds requests in progress, not jobs (those are rows): its live set is ~80 MB with 10,000 jobs in
# flight, and 160 MB keeps the whole process under 512 MB RSS there (bench/README.md). A heap sized from the
# container's memory would grow with it for nothing. Override JAVA_TOOL_OPTIONS to size it otherwise.
ENV JAVA_TOOL_OPTIONS="-Xmx160m -XX:+ExitOnOutOfMemoryError"
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${SERVER_PORT:-8080}/actuator/health/liveness" || exit 1
ENTRYPOINT ["java", "org.springframework.boot.loader.launch.JarLauncher"]
