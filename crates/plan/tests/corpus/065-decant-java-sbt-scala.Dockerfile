ARG JDK_TAG=21-jdk-jammy
FROM eclipse-temurin:${JDK_TAG} AS build
ARG SBT_VERSION=1.10.6
RUN curl -fsSL "https://github.com/sbt/sbt/releases/download/v${SBT_VERSION}/sbt-${SBT_VERSION}.tgz" | tar xz -C /usr/local
ENV PATH=/usr/local/sbt/bin:$PATH
WORKDIR /app
COPY build.sbt ./
COPY project ./project
RUN sbt update
COPY . .
RUN sbt stage

FROM eclipse-temurin:21-jre-jammy
WORKDIR /opt/app
COPY --from=build /app/target/universal/stage/ ./
USER daemon
ENTRYPOINT ["./bin/server"]
CMD []
