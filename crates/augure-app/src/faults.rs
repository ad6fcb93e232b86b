//! Deliberate crash points, for the crash tests. With `AUGURE_CRASH_AT=<point>` the process
//! aborts when it reaches that point, as a power cut or `kill -9` would; unset (always, in
//! production) a crash point does nothing.

use std::sync::OnceLock;

pub fn crash_point(name: &str) {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    if AT.get_or_init(|| std::env::var("AUGURE_CRASH_AT").ok()).as_deref() == Some(name) {
        eprintln!("crash point {name:?} reached: aborting");
        std::process::abort();
    }
}
