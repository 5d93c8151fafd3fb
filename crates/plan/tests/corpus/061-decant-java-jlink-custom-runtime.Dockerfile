FROM eclipse-temurin:21-jdk AS jre-build
WORKDIR /app
COPY target/app.jar app.jar
RUN jar xf app.jar
RUN jdeps --ignore-missing-deps -q --recursive --multi-release 21 \
      --print-module-deps --class-path 'BOOT-INF/lib/*' app.jar > deps.info
RUN $JAVA_HOME/bin/jlink \
         --add-modules $(cat deps.info),jdk.crypto.ec \
         --strip-debug \
         --no-man-pages \
         --no-header-files \
         --compress=zip-6 \
         --output /javaruntime

FROM debian:bookworm-slim
ENV JAVA_HOME=/opt/java/openjdk
ENV PATH "${JAVA_HOME}/bin:${PATH}"
COPY --from=jre-build /javaruntime $JAVA_HOME
RUN mkdir /opt/app
COPY target/app.jar /opt/app/
CMD ["java", "-jar", "/opt/app/app.jar"]
