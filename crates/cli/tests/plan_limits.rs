//! Regression: a long chain of stages, each `FROM` the previous one, once
//! overflowed the stack in the recursive planner (a crash on user input).
//! Now chains up to `plan::MAX_DEPENDENCY_DEPTH` plan, and longer ones are
//! a clear error.

use testkit::{Dir, output_text};

const BIN: &str = env!("CARGO_BIN_EXE_decant");

fn chain(stages: usize) -> String {
    let mut text = String::from("FROM scratch AS s0\nCOPY f /f\n");
    for i in 1..stages {
        text.push_str(&format!("FROM s{} AS s{i}\nENV LEVEL={i}\n", i - 1));
    }
    text
}

#[test]
fn deep_stage_chain_does_not_overflow_the_stack() {
    // (stages in the chain, planning succeeds, text expected in the output)
    let cases = [
        (300, true, "s299"),
        (1000, true, "s999"),
        (1200, false, "chain of more than 1000 stages"),
    ];
    for (stages, succeeds, expected) in cases {
        let dir = Dir::new(BIN, &format!("chain-{stages}"));
        dir.create("Dockerfile", chain(stages));
        dir.create("f", "x");
        let output = dir.command().args(["build", "--print-plan", "."]).run();
        let text = output_text(&output);
        assert_eq!(
            output.status.success(),
            succeeds,
            "{stages} stages:\n{}",
            &text[text.len().saturating_sub(2000)..]
        );
        assert!(
            text.contains(expected),
            "{stages} stages: {expected:?} not in the output"
        );
    }
}
