ARG foo=bar
