FROM alpine:3.20
RUN ["/bin/sh", "-c", "echo exec form RUN > /exec.txt"]
RUN [ "sh", "-c", "echo 'spaces inside the brackets'" ]
RUN [echo, not-json-so-shell-form]
ENTRYPOINT ["/bin/sh", "-c", "echo \"$0\" \"$@\"", "entry"]
CMD ["arg one", "arg\ttwo", "arg \"three\""]
