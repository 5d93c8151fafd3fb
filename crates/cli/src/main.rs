//! The `decant` binary: clap arguments, settings, progress rendering and
//! error display. The only crate that prints.

fn main() {
    println!("decant");
}
