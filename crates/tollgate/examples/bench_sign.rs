//! What signing alone allows on this machine: one thread per core signing the same claims
//! Tollgate puts in a token, with the same keys, for a fixed time, and nothing else running.
//! `bench/run.sh` compares each algorithm's token rate with this figure.
//!
//! `cargo run --release -p tollgate --example bench_sign -- ES256 3` prints
//! `ES256 <signatures per second> <threads>`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tollgate::domain::algorithm::Algorithm;
use tollgate::keys::SigningKey;

/// Claims of the size a one-scope token carries.
const CLAIMS: &[u8] = br#"{"iss":"http://127.0.0.1:8080","sub":"tgc_5f0c8e2a9b1d4c7e3a6f8b2d","aud":"http://127.0.0.1:8080","exp":1900003600,"iat":1900000000,"nbf":1900000000,"jti":"AAECAwQFBgcICQoLDA0ODw","client_id":"tgc_5f0c8e2a9b1d4c7e3a6f8b2d","scope":"reports:export"}"#;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let alg = args.next().and_then(|a| a.parse::<Algorithm>().ok());
    let seconds = args
        .next()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(3.0);
    let Some(alg) = alg else {
        eprintln!("usage: bench_sign ES256|EdDSA|RS256 [seconds]");
        return ExitCode::from(2);
    };
    let Ok((key, _)) = SigningKey::generate(alg) else {
        eprintln!("bench_sign: could not generate a {alg} key");
        return ExitCode::FAILURE;
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let stop = AtomicBool::new(false);
    let signed = AtomicU64::new(0);
    #[allow(clippy::disallowed_methods)] // A benchmark measures wall time.
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    if key.sign_jwt(CLAIMS).is_ok() {
                        n += 1;
                    }
                }
                signed.fetch_add(n, Ordering::Relaxed);
            });
        }
        std::thread::sleep(Duration::from_secs_f64(seconds));
        stop.store(true, Ordering::Relaxed);
    });
    let rate = signed.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    println!("{alg} {rate:.0} {threads}");
    ExitCode::SUCCESS
}
