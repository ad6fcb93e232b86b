//! `cargo run --release -p augure-bench --bin chat_ws [-- --chats 500,1000,2000 --seconds 20]`
//!
//! Chat over real WebSockets (issue 11). For each size C, a fresh server process (this
//! binary with `--serve C`) runs the real router (`augure_web::router`, `SystemClock`, a
//! temp SQLite store, the engine and chat loops as `augure serve` runs them) with C
//! experts and C clients, and a chat started and accepted for each pair in-process. A
//! load generator in a process of its own (`--generate ADDR`) signs every party in over
//! HTTP, opens one client tab and one expert tab per chat (`GET /ws?consultation=ID`),
//! and has each chat exchange one message a second, alternately from each side, the send
//! instant written in the text. Then the same generator does the same over a bare
//! WebSocket echo the bench adds to the same server on `/bench/echo` (never in production
//! code), so the two latencies are a ratio measured in one run.
//!
//! Figures: delivery latency (send → the other tab's `message` frame; for the echo, send
//! → the echo) p50 / p99, and the server's memory per idle socket (its RSS with the 2C
//! sockets open and beating minus before, ÷ 2C). The generator and the server share the
//! machine's cores, as a real client would not: latencies are an upper bound.

// Percentiles, ratios and sizes for display: no money is computed with floats here.
#![allow(clippy::float_arithmetic)]

mod generator;
mod server;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

// The production binary's allocator: memory per socket is what `augure serve` pays.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The measured message phase follows this many seconds of warm-up, not counted.
pub const WARM_UP_SECONDS: u64 = 3;
/// With the sockets open, the server settles this long before its memory is read.
pub const SETTLE_SECONDS: u64 = 4;

fn main() {
    // What the app logs as going wrong (a failed write, a refused frame) is shown.
    let filter = tracing_subscriber::EnvFilter::try_from_env("AUGURE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let seconds: u64 = flag("--seconds").and_then(|s| s.parse().ok()).unwrap_or(20);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    if let Some(addr) = flag("--generate") {
        runtime.block_on(generator::run(addr, seconds));
    } else if let Some(chats) = flag("--serve") {
        runtime.block_on(server::run(chats.parse().expect("--serve C"), seconds));
    } else {
        let sizes: Vec<usize> = flag("--chats")
            .unwrap_or_else(|| "500,1000,2000".into())
            .split(',')
            .map(|s| s.trim().parse().expect("--chats 500,1000,2000"))
            .collect();
        runtime.block_on(orchestrate(&sizes, seconds));
    }
}

/// One fresh server process per size, so no size starts on memory another left behind.
async fn orchestrate(sizes: &[usize], seconds: u64) {
    println!(
        "chat_ws: one message a second per chat over {seconds} s (after {WARM_UP_SECONDS} s of warm-up), \
         against a bare echo on the same server; sizes {sizes:?}\n"
    );
    let mut results = Vec::new();
    for &chats in sizes {
        let exe = std::env::current_exe().expect("own path");
        let mut child = tokio::process::Command::new(exe)
            .args(["--serve", &chats.to_string(), "--seconds", &seconds.to_string()])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("server process");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut result = None;
        while let Ok(Some(line)) = lines.next_line().await {
            match line.strip_prefix("RESULT ") {
                Some(json) => result = serde_json::from_str::<Value>(json).ok(),
                None => println!("  [{chats}] {line}"),
            }
        }
        let status = child.wait().await.expect("server exit");
        match result {
            Some(r) if status.success() => results.push(r),
            _ => println!("  [{chats}] failed: {status}"),
        }
    }
    print_table(&results);
}

fn print_table(results: &[Value]) {
    let f = |r: &Value, k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    println!();
    println!(
        "{:>6} {:>7} | {:>17} {:>17} {:>9} | {:>10} {:>10} | {:>14} {:>14}",
        "chats",
        "sockets",
        "chat p50/p99 ms",
        "echo p50/p99 ms",
        "p99 ratio",
        "chat msg/s",
        "delivered",
        "chat KiB/sock",
        "echo KiB/sock"
    );
    println!("{}", "-".repeat(124));
    for r in results {
        let chats = f(r, "chats");
        println!(
            "{:>6} {:>7} | {:>17} {:>17} {:>9.1} | {:>10.0} {:>9.1}% | {:>14.1} {:>14.1}",
            chats,
            chats * 2.0,
            format!("{:.1} / {:.1}", f(r, "chat_p50_ms"), f(r, "chat_p99_ms")),
            format!("{:.1} / {:.1}", f(r, "echo_p50_ms"), f(r, "echo_p99_ms")),
            f(r, "chat_p99_ms") / f(r, "echo_p99_ms"),
            f(r, "chat_received") / f(r, "seconds"),
            100.0 * f(r, "chat_received") / f(r, "chat_sent").max(1.0),
            f(r, "chat_bytes_per_socket") / 1024.0,
            f(r, "echo_bytes_per_socket") / 1024.0,
        );
    }
    println!("goals: chat p99 < 50 ms; ≤ 16 KiB per idle chat socket");
}

/// This process's resident memory, in bytes (`VmRSS` of `/proc/self/status`).
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    kib * 1024
}

/// Nearest-rank percentile of sorted values.
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
