//! The parser and the expander never panic, whatever the input: arbitrary
//! text, and text assembled from Dockerfile fragments (which reaches far
//! deeper into the parser than random bytes do).

use proptest::prelude::*;

const FRAGMENTS: &[&str] = &[
    "FROM ",
    "RUN ",
    "COPY ",
    "ADD ",
    "ENV ",
    "ARG ",
    "LABEL ",
    "ONBUILD ",
    "HEALTHCHECK ",
    "CMD ",
    "SHELL ",
    "EXPOSE ",
    "WORKDIR ",
    "USER ",
    "VOLUME ",
    "STOPSIGNAL ",
    "busybox",
    " AS x",
    "--from=",
    "--mount=type=cache,target=/x",
    "--mount=\"",
    "--chmod=",
    "--platform=",
    "--",
    "--link=",
    "NONE",
    "CMD",
    "[",
    "]",
    "\"",
    "'",
    "\\",
    "`",
    "$",
    "${",
    "}",
    ":-",
    ":?",
    "#",
    "%",
    "/",
    "//",
    "=",
    " ",
    "\t",
    "\n",
    "\r\n",
    "<<",
    "<<-",
    "EOF",
    "\nEOF\n",
    "# escape=`\n",
    "# escape=\\\n",
    "\u{feff}",
    "é",
    "\0",
    "a",
    "1",
    "-",
    ",",
];

fn fragments() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_never_panics_on_text(text in any::<String>()) {
        let _ = dockerfile::parse(&text);
        let _ = dockerfile::parse_instruction(&text);
    }

    #[test]
    fn parse_never_panics_on_fragments(text in fragments()) {
        if let Ok(dockerfile) = dockerfile::parse(&text) {
            let _ = dockerfile::dump(&dockerfile);
        }
        let _ = dockerfile::parse(&format!("FROM busybox\n{text}"));
    }

    #[test]
    fn expansion_never_panics(text in fragments(), raw in any::<bool>(), skip in any::<bool>()) {
        let mut lexer = dockerfile::Lexer::new('\\');
        lexer.raw_quotes = raw;
        lexer.raw_escapes = raw;
        lexer.skip_unset_env = skip;
        let env: Vec<String> = vec!["A=a".into(), "B=".into()];
        let _ = lexer.process(&text, &env);
    }
}
