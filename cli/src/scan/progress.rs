//! A progress line on standard error, drawn only when it is a terminal and the scan has run
//! for more than a second (a quick scan or a CI log stays clean).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Inputs (files) judged so far, out of a total.
pub struct Progress {
    total: usize,
    done: AtomicUsize,
    finished: AtomicBool,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        Self {
            total,
            done: AtomicUsize::new(0),
            finished: AtomicBool::new(false),
        }
    }

    /// One more input judged.
    pub fn advance(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs `work` while a thread redraws the line; the line is erased at the end.
    pub fn around<T>(&self, work: impl FnOnce() -> T) -> T {
        if !std::io::stderr().is_terminal() {
            return work();
        }
        std::thread::scope(|scope| {
            scope.spawn(|| self.draw_until_finished());
            let result = work();
            self.finished.store(true, Ordering::Relaxed);
            result
        })
    }

    fn draw_until_finished(&self) {
        let start = Instant::now();
        let mut drawn = false;
        while !self.finished.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            if start.elapsed() < Duration::from_secs(1) {
                continue;
            }
            let done = self.done.load(Ordering::Relaxed);
            let width = 30;
            let filled = (done * width).checked_div(self.total).unwrap_or(width);
            let bar: String = "#".repeat(filled) + &"-".repeat(width - filled.min(width));
            let _ = write!(
                std::io::stderr(),
                "\rscanning [{bar}] {done}/{} files",
                self.total
            );
            drawn = true;
        }
        if drawn {
            let _ = write!(std::io::stderr(), "\r{}\r", " ".repeat(72));
        }
    }
}
