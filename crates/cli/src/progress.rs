//! Progress rendering: `plain` lines for logs and CI, one JSON object per
//! line for tools, nothing for `quiet`. `auto` and `tty` currently render
//! plain lines too.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Instant;

use engine::Event;

use crate::args::Progress;

pub struct Renderer {
    mode: Progress,
    started: Instant,
    out: Mutex<std::io::Stderr>,
}

impl Renderer {
    pub fn new(mode: Progress) -> Renderer {
        let mode = match mode {
            Progress::Auto if std::io::stderr().is_terminal() => Progress::Tty,
            Progress::Auto => Progress::Plain,
            other => other,
        };
        Renderer {
            mode,
            started: Instant::now(),
            out: Mutex::new(std::io::stderr()),
        }
    }

    fn write(&self, text: &str) {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        // A closed stderr must not fail the build.
        let _ = writeln!(out, "{text}");
    }

    pub fn event(&self, event: Event) {
        match self.mode {
            Progress::Quiet => {}
            Progress::Json => self.write(&json(&event).to_string()),
            Progress::Plain | Progress::Tty | Progress::Auto => {
                if let Some(line) = plain(&event) {
                    self.write(&line);
                }
            }
        }
    }

    pub fn finish(&self) {}

    pub fn summary(&self, outcome: &engine::BuildOutcome) {
        if matches!(self.mode, Progress::Quiet | Progress::Json) {
            return;
        }
        self.write(&format!(
            "built {} in {:.1}s ({} steps run, {} cached)",
            outcome.config_digest,
            self.started.elapsed().as_secs_f64(),
            outcome.steps_run,
            outcome.steps_cached
        ));
    }
}

fn plain(event: &Event) -> Option<String> {
    Some(match event {
        Event::Resolving { reference } => format!("resolve {reference}"),
        Event::Pulling {
            reference,
            digest,
            size,
        } => format!("pull {reference} {digest} ({size} bytes)"),
        Event::StepStarted {
            stage,
            step,
            steps,
            text,
            ..
        } => format!("[{stage} {step}/{steps}] {text}"),
        Event::StepCached { stage, step, .. } => format!("[{stage} {step}] CACHED"),
        Event::StepFinished {
            stage,
            step,
            elapsed,
            reason,
        } => {
            format!(
                "[{stage} {step}] DONE {:.1}s (ran: {reason})",
                elapsed.as_secs_f64()
            )
        }
        Event::Output { stage, step, line } => format!("[{stage} {step}] {line}"),
        Event::Exported { description } => format!("exported {description}"),
    })
}

fn json(event: &Event) -> serde_json::Value {
    use serde_json::json;
    match event {
        Event::Resolving { reference } => json!({"event": "resolving", "reference": reference}),
        Event::Pulling {
            reference,
            digest,
            size,
        } => {
            json!({"event": "pulling", "reference": reference, "digest": digest.to_string(), "size": size})
        }
        Event::StepStarted {
            stage,
            step,
            steps,
            line,
            text,
        } => {
            json!({"event": "step-started", "stage": stage, "step": step, "steps": steps, "line": line, "text": text})
        }
        Event::StepCached { stage, step, text } => {
            json!({"event": "step-cached", "stage": stage, "step": step, "text": text})
        }
        Event::StepFinished {
            stage,
            step,
            elapsed,
            reason,
        } => {
            json!({"event": "step-finished", "stage": stage, "step": step, "seconds": elapsed.as_secs_f64(), "reason": reason})
        }
        Event::Output { stage, step, line } => {
            json!({"event": "output", "stage": stage, "step": step, "line": line})
        }
        Event::Exported { description } => json!({"event": "exported", "dest": description}),
    }
}
