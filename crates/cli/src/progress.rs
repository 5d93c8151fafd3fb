//! Progress rendering: a live view on a terminal (`tty`), plain lines for
//! logs and CI, one JSON object per line for tools, nothing for `quiet`.
//!
//! The tty view follows BuildKit's: one line per step with its timer while
//! it runs, `CACHED` or `DONE 1.2s` when it ends, and RUN output printed
//! above the live lines so the last lines of a running step stay visible.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use engine::Event;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::args::Progress;

pub struct Renderer {
    mode: Progress,
    started: Instant,
    out: Mutex<std::io::Stderr>,
    live: Option<Live>,
}

/// The tty view's state: one spinner per running step.
struct Live {
    bars: MultiProgress,
    steps: Mutex<HashMap<(String, usize), ProgressBar>>,
}

impl Live {
    fn new() -> Live {
        Live {
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            steps: Mutex::new(HashMap::new()),
        }
    }

    fn steps(&self) -> std::sync::MutexGuard<'_, HashMap<(String, usize), ProgressBar>> {
        self.steps.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn event(&self, event: &Event) {
        match event {
            Event::StepStarted {
                stage,
                step,
                steps,
                text,
                ..
            } => {
                let bar = self.bars.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} [{prefix}] {wide_msg} {elapsed:>4}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(format!("{stage} {step}/{steps}"));
                bar.set_message(text.clone());
                bar.enable_steady_tick(Duration::from_millis(120));
                self.steps().insert((stage.clone(), *step), bar);
            }
            Event::StepCached { stage, step, text } => {
                if let Some(bar) = self.steps().remove(&(stage.clone(), *step)) {
                    bar.finish_and_clear();
                }
                let _ = self
                    .bars
                    .println(format!("  [{stage} {step}] CACHED {text}"));
            }
            Event::StepFinished {
                stage,
                step,
                elapsed,
                ..
            } => {
                if let Some(bar) = self.steps().remove(&(stage.clone(), *step)) {
                    let text = bar.message();
                    bar.finish_and_clear();
                    let _ = self.bars.println(format!(
                        "  [{stage} {step}] DONE {:.1}s {text}",
                        elapsed.as_secs_f64()
                    ));
                }
            }
            other => {
                if let Some(line) = plain(other) {
                    let _ = self.bars.println(format!("    {line}"));
                }
            }
        }
    }

    fn finish(&self) {
        for (_, bar) in self.steps().drain() {
            bar.finish_and_clear();
        }
        let _ = self.bars.clear();
    }
}

impl Renderer {
    pub fn new(mode: Progress) -> Renderer {
        let mode = match mode {
            Progress::Auto if std::io::stderr().is_terminal() => Progress::Tty,
            Progress::Auto => Progress::Plain,
            other => other,
        };
        let live = (mode == Progress::Tty).then(Live::new);
        Renderer {
            mode,
            started: Instant::now(),
            out: Mutex::new(std::io::stderr()),
            live,
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
            Progress::Tty if self.live.is_some() => {
                if let Some(live) = &self.live {
                    live.event(&event);
                }
            }
            Progress::Plain | Progress::Tty | Progress::Auto => {
                if let Some(line) = plain(&event) {
                    self.write(&line);
                }
            }
        }
    }

    /// Clears the live view, if any, so the summary or error that follows
    /// is printed on a clean line.
    pub fn finish(&self) {
        if let Some(live) = &self.live {
            live.finish();
        }
    }

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
        Event::Compressing {
            diff_id,
            compression,
        } => format!("compressing layer {diff_id} ({compression})"),
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
        Event::Compressing {
            diff_id,
            compression,
        } => {
            json!({"event": "compressing", "diff_id": diff_id.to_string(), "compression": compression})
        }
        Event::Exported { description } => json!({"event": "exported", "dest": description}),
    }
}
