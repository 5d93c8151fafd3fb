# syntax=docker/dockerfile:1
FROM python:3.12-slim
RUN python3 <<EOF
with open("/hello", "w") as f:
    print("Hello", file=f)
    print("World", file=f)
EOF
RUN <<EOF
#!/usr/bin/env python3
import platform
print(platform.python_version())
EOF
CMD ["cat", "/hello"]
