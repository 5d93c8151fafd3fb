FROM busybox
RUN <<EOF
echo hello
echo world
EOF
RUN <<-EOT bash
	echo chomped
	EOT
COPY <<A <<'B' /dst/
value $HOME
A
literal $HOME
B
RUN python3 <<PY > /out
print("hi")
PY
RUN cat <<X && cat <<Y
x
X
y
Y
RUN ["echo", "<<NOTHEREDOC"]
