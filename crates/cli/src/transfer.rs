//! Progress of blob transfers (`pull`, `push`): one indicatif bar per blob
//! when stderr is a terminal, plain lines otherwise, nothing with `-q`.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use engine::ops::TransferEvent;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

enum Mode {
    Quiet,
    Plain,
    Bars {
        multi: MultiProgress,
        bars: Mutex<HashMap<oci::Digest, ProgressBar>>,
    },
}

pub struct TransferView {
    mode: Mode,
    /// `pull` or `push`, for the plain lines.
    verb: &'static str,
}

impl TransferView {
    pub fn new(quiet: bool, verb: &'static str) -> TransferView {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bars {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: Mutex::new(HashMap::new()),
            }
        } else {
            Mode::Plain
        };
        TransferView { mode, verb }
    }

    fn line(&self, text: &str) {
        // A closed stderr must not fail the transfer.
        let _ = writeln!(std::io::stderr(), "{text}");
    }

    pub fn event(&self, event: TransferEvent) {
        match &self.mode {
            Mode::Quiet => {}
            Mode::Plain => match event {
                TransferEvent::Resolved { reference, digest } => {
                    self.line(&format!("{}: {reference} is {digest}", self.verb))
                }
                TransferEvent::Started { digest, size } => self.line(&format!(
                    "{}: {digest} ({})",
                    self.verb,
                    crate::commands::human_size(size)
                )),
                TransferEvent::Compressing { digest } => {
                    self.line(&format!("{}: compressing {digest}", self.verb))
                }
                TransferEvent::Progress { .. } => {}
                TransferEvent::Finished {
                    digest, existed, ..
                } => self.line(&format!(
                    "{}: {digest} {}",
                    self.verb,
                    if existed { "already present" } else { "done" }
                )),
            },
            Mode::Bars { multi, bars } => {
                let mut bars = bars.lock().unwrap_or_else(|p| p.into_inner());
                match event {
                    TransferEvent::Resolved { reference, digest } => {
                        let _ = multi.println(format!("{reference}: {digest}"));
                    }
                    TransferEvent::Compressing { digest } => {
                        let _ = multi
                            .println(format!("{} compressing", crate::commands::short(&digest)));
                    }
                    TransferEvent::Started { digest, size } => {
                        let bar = multi.add(ProgressBar::new(size));
                        bar.set_style(
                            ProgressStyle::with_template(
                                "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                            )
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                        );
                        bar.set_prefix(crate::commands::short(&digest));
                        bars.insert(digest, bar);
                    }
                    TransferEvent::Progress { digest, bytes } => {
                        if let Some(bar) = bars.get(&digest) {
                            bar.inc(bytes);
                        }
                    }
                    TransferEvent::Finished {
                        digest, existed, ..
                    } => {
                        if let Some(bar) = bars.remove(&digest) {
                            bar.finish_and_clear();
                        }
                        let what = if existed { "already present" } else { "done" };
                        let _ =
                            multi.println(format!("{} {what}", crate::commands::short(&digest)));
                    }
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Mode::Bars { multi, bars } = &self.mode {
            for (_, bar) in bars.lock().unwrap_or_else(|p| p.into_inner()).drain() {
                bar.finish_and_clear();
            }
            let _ = multi.clear();
        }
    }
}
