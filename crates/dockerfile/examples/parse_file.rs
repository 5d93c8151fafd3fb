//! Parses each file named on the command line and prints the AST dump or
//! the diagnostic: `cargo run -p dockerfile --example parse_file -- Dockerfile`.

fn main() {
    for path in std::env::args().skip(1) {
        match std::fs::read_to_string(&path) {
            Ok(text) => match dockerfile::parse(&text) {
                Ok(df) => print!("== {path}\n{}", dockerfile::dump(&df)),
                Err(d) => println!("== {path}\nerror: {d}"),
            },
            Err(e) => println!("== {path}\nerror: {e}"),
        }
    }
}
