//! The benchmark behind BENCHMARKS.md: one command, every figure.
//!
//! ```sh
//! cargo run --release --example bench            # all of it (a few minutes)
//! cargo run --release --example bench -- --quick # 10k accounts only, to try it out
//! cargo run --release --example bench -- --offline-only # skip the live scan and the curl script
//! cargo run --release --example bench -- --live-only --accounts 10000 --runs 3
//! cargo run --release --example bench -- --failing 0.0001,0.1,0.5 # growth over fraction failing
//! ```
//!
//! `--live-only` runs only the live `cloudkeur scan` (no curl script, no offline part), for
//! iterating on the connector; `--accounts N` sets the live tenant's size; `--runs N` repeats the
//! live scan and reports the median. Every live run also prints, on standard error, where its
//! time went: the read phase (token request to last answer), the tail after it (evaluation and
//! output), and per page of the critical chain the simulator's share beyond the added latency
//! and the client's turnaround (answer ready → next request arrives).
//!
//! `--failing F1,F2,...` runs only the growth over the fraction of failing items instead: offline
//! scans of tenants of 10k, 50k and 100k accounts (or `--accounts N`) in which that fraction of
//! accounts, users and team sites fails (see `TenantSpec::failing`), with wall time and peak RSS
//! as ratios to the smallest fraction at the same size. The runs of one size go round-robin over
//! the fractions (`--runs N` rounds, default 5), so that load from other processes falls on all
//! of them alike. Then the sizes of every report format for the largest of those tenants.
//!
//! It generates fictional tenants (tests/support/tenant_gen.rs) under target/bench/, starts the
//! simulated Graph (tests/support/graph_sim.rs) on 127.0.0.1 with an added latency per request,
//! and runs, as child processes of this one: a live `cloudkeur scan`, the sequential curl + jq
//! script a municipality would otherwise write, offline scans of the snapshots, and jq computing
//! the two heaviest checks. Wall times are medians; peak RSS comes from `/usr/bin/time -v`.
//! The scans run this same executable as the cloudkeur CLI (`bench cloudkeur scan ...`, the
//! code of src/main.rs). It is not part of `cargo test` or CI. Needs `curl`, `jq` and GNU `time`
//! (`apt-get install -y curl jq time`).

#[path = "../tests/support/graph_sim.rs"]
mod graph_sim;
#[path = "../tests/support/tenant_gen.rs"]
mod tenant_gen;

use cloudkeur::connector::resources_to_read;
use cloudkeur::policy::{PackSource, PolicyPack};
use cloudkeur::registry::{ResourceKind, ResourceSpec, Service};
use graph_sim::{CLIENT_ID, SimGraph, SimOptions, TENANT};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tenant_gen::TenantSpec;

const SECRET: &str = "bench-secret";
const LATENCY: Duration = Duration::from_millis(25);
/// Graph's page size where the request sets no `$top`.
const DEFAULT_PAGE: usize = 100;
const GLOBAL_ADMIN: &str = tenant_gen::GLOBAL_ADMIN;

fn main() {
    // `bench cloudkeur ARGS...` is the cloudkeur CLI itself (src/main.rs), so the scans below
    // run the same code without a second build of the binary under other features.
    if std::env::args().nth(1).as_deref() == Some("cloudkeur") {
        let cli = <cloudkeur::cli::Cli as clap::Parser>::parse_from(std::env::args().skip(1));
        cloudkeur::logging::init(cli.log_format);
        let code = match cloudkeur::app::run(cli) {
            Ok(outcome) => outcome.exit_code(),
            Err(err) => {
                cloudkeur::logging::error("failed", &err.to_string(), err.exit_code());
                err.exit_code()
            }
        };
        std::process::exit(i32::from(code));
    }
    let args = match BenchArgs::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("bench: {message}");
            eprintln!(
                "usage: bench [--quick] [--live-only [--script] | --offline-only | --failing F,...] [--accounts N] [--runs N]"
            );
            std::process::exit(2);
        }
    };
    let quick = args.quick;
    let offline_only = args.offline_only;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let work = root.join("target/bench");
    std::fs::create_dir_all(&work).expect("target/bench");
    for tool in ["curl", "jq"] {
        if Command::new(tool).arg("--version").output().is_err() {
            eprintln!("{tool} is missing: apt-get install -y curl jq time");
            std::process::exit(2);
        }
    }
    if !Path::new("/usr/bin/time").exists() {
        eprintln!("GNU time is missing: apt-get install -y time");
        std::process::exit(2);
    }
    let binary = std::env::current_exe().expect("own path");

    let mut out = String::new();
    writeln!(out, "{}", machine()).unwrap();
    if let Some(fractions) = &args.failing {
        let sizes = match args.accounts {
            Some(n) => vec![n],
            None if quick => vec![10_000],
            None => vec![10_000, 50_000, 100_000],
        };
        let rounds = args.runs_given.unwrap_or(5);
        writeln!(
            out,
            "{}",
            failing_growth(&binary, &work, &sizes, fractions, rounds)
        )
        .unwrap();
        println!("{out}");
        return;
    }
    let live_n = args.accounts.unwrap_or(if quick { 10_000 } else { 50_000 });
    let heavy_n = if quick { 10_000 } else { 100_000 };
    let sizes: Vec<usize> = if args.live_only {
        vec![live_n]
    } else if quick {
        vec![10_000, live_n]
    } else {
        vec![10_000, 50_000, 100_000, live_n]
    };
    let mut dirs = BTreeMap::new();
    for n in sizes {
        let dir = work.join(format!("tenant-{n}"));
        if !dir.join("manifest.json").exists() {
            eprintln!("generating a tenant of {n} accounts in {}", dir.display());
            tenant_gen::write_snapshot(&TenantSpec::new(n), &dir);
        }
        dirs.insert(n, dir);
    }

    if !offline_only {
        eprintln!("live scan of {live_n} accounts");
        let live_run = LiveRun {
            runs: args.runs,
            script: !args.live_only || args.script,
        };
        writeln!(
            out,
            "{}",
            live(&binary, &dirs[&live_n], live_n, &work, &live_run)
        )
        .unwrap();
        if args.live_only {
            println!("{out}");
            return;
        }
    }
    eprintln!("offline evaluation of {heavy_n} accounts, and jq");
    writeln!(out, "{}", offline_vs_jq(&binary, &dirs[&heavy_n], heavy_n)).unwrap();
    eprintln!("growth");
    writeln!(out, "{}", growth(&binary, &dirs)).unwrap();
    println!("{out}");
}

/// The bench's own flags (the `cloudkeur` re-execution above takes the CLI's).
#[derive(Debug, Default)]
struct BenchArgs {
    quick: bool,
    live_only: bool,
    /// With `--live-only`: also run the sequential curl + jq script.
    script: bool,
    offline_only: bool,
    accounts: Option<usize>,
    runs: usize,
    /// `--runs` as given, for parts whose default is not 1.
    runs_given: Option<usize>,
    /// Fractions of failing items: run the growth over them only.
    failing: Option<Vec<f64>>,
}

impl BenchArgs {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut parsed = BenchArgs {
            runs: 1,
            ..BenchArgs::default()
        };
        let number = |flag: &str, value: Option<String>| -> Result<usize, String> {
            value
                .and_then(|v| v.parse().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{flag} takes a positive number"))
        };
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => parsed.quick = true,
                "--live-only" => parsed.live_only = true,
                "--script" => parsed.script = true,
                "--offline-only" => parsed.offline_only = true,
                "--accounts" => parsed.accounts = Some(number("--accounts", args.next())?),
                "--runs" => {
                    parsed.runs = number("--runs", args.next())?;
                    parsed.runs_given = Some(parsed.runs);
                }
                "--failing" => parsed.failing = Some(fractions(args.next())?),
                other => return Err(format!("unknown flag {other}")),
            }
        }
        Ok(parsed)
    }
}

/// `0.0001,0.1,0.5`: fractions in [0, 1], at least one, in ascending order.
fn fractions(value: Option<String>) -> Result<Vec<f64>, String> {
    let usage = || "--failing takes fractions in [0, 1] in ascending order, e.g. 0.0001,0.1,0.5";
    let value = value.ok_or_else(usage)?;
    let list: Vec<f64> = value
        .split(',')
        .map(|part| part.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| usage())?;
    let in_range = list.iter().all(|f| (0.0..=1.0).contains(f));
    let ascending = list.windows(2).all(|w| w[0] < w[1]);
    if list.is_empty() || !in_range || !ascending {
        return Err(usage().to_owned());
    }
    Ok(list)
}

fn machine() -> String {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    format!(
        "Machine: {nproc} CPUs (nproc), {cpu}, {:.1} GiB memory; {}\n",
        mem_kib as f64 / 1024.0 / 1024.0,
        rustc_version()
    )
}

fn rustc_version() -> String {
    Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// The page size the simulator (like Graph) uses for this resource.
fn page_size(spec: &ResourceSpec) -> usize {
    spec.query
        .get("$top")
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_PAGE)
}

fn pages(items: usize, size: usize) -> usize {
    items.div_ceil(size).max(1)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("JSON")
}

/// Longest chain of page fetches that must happen one after another: the pages of one
/// resource, or of a fan-out's parent followed by one of its groups.
fn critical_path(dir: &Path, plan: &BTreeMap<String, ResourceSpec>) -> (usize, String) {
    let mut chains: BTreeMap<String, usize> = BTreeMap::new();
    for (name, spec) in plan.iter().filter(|(_, s)| s.for_each.is_none()) {
        let n = match spec.kind {
            ResourceKind::Object => 1,
            ResourceKind::Collection if spec.first_page_only => 1,
            ResourceKind::Collection => {
                let body = read_json(&dir.join(format!("{name}.json")));
                pages(
                    body["value"].as_array().map_or(0, Vec::len),
                    page_size(spec),
                )
            }
        };
        chains.insert(name.clone(), n);
    }
    for (name, spec) in plan.iter() {
        let Some(fan_out) = &spec.for_each else {
            continue;
        };
        let body = read_json(&dir.join(format!("{name}.json")));
        let longest = body
            .as_object()
            .map(|groups| {
                groups
                    .values()
                    .map(|g| pages(g["value"].as_array().map_or(0, Vec::len), page_size(spec)))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        chains.insert(name.clone(), chains[&fan_out.resource] + longest);
    }
    chains
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(name, n)| (n, name))
        .unwrap_or_default()
}

/// How the live part runs.
struct LiveRun {
    /// Live scans to run; the median wall time is reported.
    runs: usize,
    /// Also run the sequential curl + jq script.
    script: bool,
}

/// One live `cloudkeur scan` against a fresh simulator.
struct LiveSample {
    wall: Duration,
    requests: usize,
    /// From the scan's start to the simulator's last answer.
    read_phase: Duration,
}

fn live(binary: &Path, dir: &Path, n: usize, work: &Path, run: &LiveRun) -> String {
    let pack = PolicyPack::load(&PackSource::BuiltIn).expect("pack");
    let names = resources_to_read(&pack.registry, &pack.needed_resources()).expect("plan");
    let plan: BTreeMap<String, ResourceSpec> = names
        .iter()
        .filter_map(|n| pack.registry.get(n).map(|s| (n.clone(), s.clone())))
        .collect();
    let (chain, chain_of) = critical_path(dir, &plan);
    let bound = LATENCY * (chain as u32 + 1);
    let start_sim = || {
        SimGraph::start(SimOptions {
            client_secret: SECRET.into(),
            page_size: DEFAULT_PAGE,
            honour_top: true,
            latency: LATENCY,
            tenant_dir: Some(dir.to_path_buf()),
            ..SimOptions::default()
        })
    };

    let mut samples = Vec::new();
    for i in 0..run.runs {
        let sim = start_sim();
        let started = Instant::now();
        let status = Command::new(binary)
            .args(["cloudkeur", "scan"])
            .args(sim.url_args())
            .args(["--quiet", "--format", "json", "--output", "/dev/null"])
            .env("AZURE_TENANT_ID", TENANT)
            .env("AZURE_CLIENT_ID", CLIENT_ID)
            .env("AZURE_CLIENT_SECRET", SECRET)
            .status()
            .expect("cloudkeur runs");
        let wall = started.elapsed();
        assert!(matches!(status.code(), Some(0 | 1)), "live scan: {status}");
        let timings = sim.timings();
        let read_phase = timings
            .iter()
            .map(|t| t.answered)
            .max()
            .map_or(Duration::ZERO, |last| {
                last.saturating_duration_since(started)
            });
        let chain_path = plan.get(&chain_of).map(|s| s.path.as_str()).unwrap_or("");
        eprintln!(
            "  run {}: wall {}, read phase {} ({:.2}× bound), after the last answer {}",
            i + 1,
            secs(wall),
            secs(read_phase),
            read_phase.as_secs_f64() / bound.as_secs_f64(),
            secs(wall.saturating_sub(read_phase)),
        );
        eprintln!("    {}", startup(&timings, started));
        if std::env::var_os("BENCH_TIMELINE").is_some() {
            eprintln!("{}", timeline(&timings, started));
        }
        eprintln!("    {}", chain_breakdown(&timings, chain_path, started));
        samples.push(LiveSample {
            wall,
            requests: sim.requests().len(),
            read_phase,
        });
    }
    samples.sort_by_key(|s| s.wall);
    let median = &samples[samples.len() / 2];
    let (cloudkeur_wall, cloudkeur_requests) = (median.wall, median.requests);

    let mut t = String::new();
    writeln!(
        t,
        "### Live scan: {n} accounts, {} ms added latency per request\n",
        LATENCY.as_millis()
    )
    .unwrap();
    writeln!(
        t,
        "| | wall time | requests | × critical-path bound | target | met |"
    )
    .unwrap();
    writeln!(t, "|---|---:|---:|---:|---|---|").unwrap();
    writeln!(
        t,
        "| critical-path lower bound: token + {chain} sequential pages ({chain_of}) | {} | | 1.00× | | |",
        secs(bound)
    )
    .unwrap();
    let ratio = cloudkeur_wall.as_secs_f64() / bound.as_secs_f64();
    let runs = if run.runs > 1 {
        format!(", median of {}", run.runs)
    } else {
        String::new()
    };
    writeln!(
        t,
        "| `cloudkeur scan` (all {} resources, --concurrency 8{runs}) | {} | {cloudkeur_requests} | {ratio:.2}× | ≤ 1.25× | {} |",
        plan.len(),
        secs(cloudkeur_wall),
        yes(ratio <= 1.25)
    )
    .unwrap();
    writeln!(
        t,
        "| of which reading (scan start to the last answer) | {} | | {:.2}× | | |",
        secs(median.read_phase),
        median.read_phase.as_secs_f64() / bound.as_secs_f64()
    )
    .unwrap();
    if !run.script {
        return t;
    }

    let sim = start_sim();
    let script = work.join("graph-read.sh");
    // The script a municipality would write reads Graph; the admin APIs need a POST of a
    // cmdlet (and Teams another origin), which curl + jq scripts for Graph do not do. So it
    // reads fewer resources than the scan it is compared with.
    let graph_plan: BTreeMap<String, ResourceSpec> = plan
        .iter()
        .filter(|(_, spec)| spec.service == Service::Graph)
        .map(|(name, spec)| (name.clone(), spec.clone()))
        .collect();
    std::fs::write(&script, curl_script(&sim.url, &graph_plan)).expect("script");
    let out = work.join("graph-read");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("script out");
    let started = Instant::now();
    let status = Command::new("bash")
        .arg(&script)
        .current_dir(&out)
        .status()
        .expect("bash runs");
    let script_wall = started.elapsed();
    assert!(status.success(), "curl script: {status}");
    let script_requests = sim.requests().len();
    let speedup = script_wall.as_secs_f64() / cloudkeur_wall.as_secs_f64();
    writeln!(
        t,
        "| sequential curl + jq script (`target/bench/graph-read.sh`, the {} Graph resources only) | {} | {script_requests} | {:.2}× | cloudkeur ≥ 5× faster | {} ({speedup:.2}×) |",
        graph_plan.len(),
        secs(script_wall),
        script_wall.as_secs_f64() / bound.as_secs_f64(),
        yes(speedup >= 5.0)
    )
    .unwrap();
    t
}

/// When the scan's token request and its first Graph read arrived, counted from its start.
fn startup(timings: &[graph_sim::RequestTiming], started: Instant) -> String {
    let at = |token: bool| {
        timings
            .iter()
            .filter(|t| t.path.ends_with("/oauth2/v2.0/token") == token)
            .map(|t| t.arrived.saturating_duration_since(started))
            .min()
            .map_or_else(|| "never".to_owned(), secs_ms)
    };
    format!(
        "token request arrived at {}, first Graph read at {}",
        at(true),
        at(false)
    )
}

/// Every request's path with when it arrived and was answered (`BENCH_TIMELINE=1`): the
/// first and last request per path, and how many, in order of the first arrival.
fn timeline(timings: &[graph_sim::RequestTiming], started: Instant) -> String {
    let mut per_path: BTreeMap<&str, (Duration, Duration, usize)> = BTreeMap::new();
    for t in timings {
        let arrived = t.arrived.saturating_duration_since(started);
        let answered = t.answered.saturating_duration_since(started);
        let entry = per_path
            .entry(t.path.as_str())
            .or_insert((arrived, answered, 0));
        entry.0 = entry.0.min(arrived);
        entry.1 = entry.1.max(answered);
        entry.2 += 1;
    }
    let mut rows: Vec<_> = per_path.into_iter().collect();
    rows.sort_by_key(|(_, (first, _, _))| *first);
    rows.iter()
        .map(|(path, (first, last, n))| {
            format!(
                "      {:>7} → {:>7}  {n:>3}× {path}",
                secs_ms(*first),
                secs_ms(*last)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn secs_ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Where one page of the critical chain spends its time beyond the added latency: in the
/// simulator (how much longer than the latency its sleep took, and building the answer) and
/// between the two sides
/// (answer ready → the next page's request arrives: sending, the client's parsing, waiting
/// for a CPU).
fn chain_breakdown(timings: &[graph_sim::RequestTiming], path: &str, started: Instant) -> String {
    let mut pages: Vec<&graph_sim::RequestTiming> =
        timings.iter().filter(|t| t.path == path).collect();
    pages.sort_by_key(|t| t.arrived);
    let Some(first) = pages.first() else {
        return format!("no requests to {path}");
    };
    let oversleep: Duration = pages
        .iter()
        .map(|t| {
            t.woke
                .saturating_duration_since(t.arrived)
                .saturating_sub(LATENCY)
        })
        .sum();
    let build: Duration = pages
        .iter()
        .map(|t| t.answered.saturating_duration_since(t.woke))
        .sum();
    let mut turnarounds: Vec<Duration> = pages
        .windows(2)
        .map(|w| w[1].arrived.saturating_duration_since(w[0].answered))
        .collect();
    turnarounds.sort();
    let turnaround: Duration = turnarounds.iter().sum();
    let percentile = |p: usize| {
        turnarounds
            .get(turnarounds.len() * p / 100)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    let n = pages.len() as u32;
    format!(
        "chain {path}: {n} pages, first request at {}, per page: latency overslept {:.2} ms, answer built in {:.2} ms, turnaround {:.2} ms (median {:.2}, p90 {:.2})",
        secs(first.arrived.saturating_duration_since(started)),
        oversleep.as_secs_f64() * 1e3 / f64::from(n),
        build.as_secs_f64() * 1e3 / f64::from(n),
        turnaround.as_secs_f64() * 1e3 / f64::from(n.saturating_sub(1).max(1)),
        percentile(50),
        percentile(90),
    )
}

/// The script a municipality would write: every read in turn with curl, pages merged with jq.
fn curl_script(base: &str, plan: &BTreeMap<String, ResourceSpec>) -> String {
    let mut s = String::from(
        "#!/usr/bin/env bash\n# Generated by examples/bench.rs: reads every resource in turn with curl and jq.\nset -euo pipefail\n",
    );
    writeln!(
        s,
        "TOKEN=$(curl -sfg -X POST {base}/{TENANT}/oauth2/v2.0/token \
         --data-urlencode grant_type=client_credentials --data-urlencode client_id={CLIENT_ID} \
         --data-urlencode client_secret={SECRET} --data-urlencode scope={base}/.default | jq -r .access_token)"
    )
    .unwrap();
    s.push_str(
        r#"get_all() { # url out
  local url="$1" out="$2" n=0
  : > "$out.pages"
  while [ -n "$url" ]; do
    curl -sSg --fail-with-body -H "Authorization: Bearer $TOKEN" "$url" > "$out.page" || { cat "$out.page" >&2; echo " <- $url" >&2; return 22; }
    jq -c '.value' "$out.page" >> "$out.pages"
    url=$(jq -r '."@odata.nextLink" // empty' "$out.page")
  done
  jq -s '{value: add}' "$out.pages" > "$out"
  rm -f "$out.page" "$out.pages"
}
"#,
    );
    let url = |path: &str, spec: &ResourceSpec| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &spec.query {
            query.append_pair(k, v);
        }
        let query = query.finish();
        if query.is_empty() {
            format!("{base}{path}")
        } else {
            format!("{base}{path}?{query}")
        }
    };
    for (name, spec) in plan.iter().filter(|(_, s)| s.for_each.is_none()) {
        let u = url(&spec.path, spec);
        match spec.kind {
            ResourceKind::Object => writeln!(
                s,
                "curl -sfg -H \"Authorization: Bearer $TOKEN\" \"{u}\" > {name}.json"
            ),
            ResourceKind::Collection if spec.first_page_only => writeln!(
                s,
                "curl -sfg -H \"Authorization: Bearer $TOKEN\" \"{u}\" > {name}.json"
            ),
            ResourceKind::Collection => writeln!(s, "get_all \"{u}\" {name}.json"),
        }
        .unwrap();
    }
    for (name, spec) in plan.iter() {
        let Some(fan_out) = &spec.for_each else {
            continue;
        };
        // The id goes into the path or, encoded, into a query value (`$filter=groupId eq '{id}'`).
        let u = url(&spec.path, spec)
            .replace("{id}", "$id")
            .replace("%7Bid%7D", "$id");
        // The ids the registry's `for_each` selects, as the scan reads them (and no others: the
        // simulator holds members only for the groups the tenant's assignments name).
        let ids = jq_of_ids(&fan_out.ids)
            .unwrap_or_else(|why| panic!("{name}: for_each ids {}: {why}", fan_out.ids));
        writeln!(
            s,
            "for id in $(jq -r '{ids}' {parent}.json | sort -u); do\n  get_all \"{u}\" {name}-$id.json\ndone",
            parent = fan_out.resource
        )
        .unwrap();
    }
    s
}

/// A jq filter for a fan-out's `ids` JSONPath, for the shapes the registry uses:
/// `$.value[*].id` and `$.value[?@.a == 'x' && @.b['c'] == 'y'].member.path[*]` (a filter of
/// equalities joined by `&&` on the items of `$.value`, then a member chain, `[*]` spreading a
/// list). Anything else is an error, so that a new shape fails the bench instead of reading
/// other ids than the scan.
fn jq_of_ids(path: &str) -> Result<String, String> {
    let rest = path
        .strip_prefix("$.value[")
        .ok_or("does not start with $.value[")?;
    let (select, rest) = if let Some(rest) = rest.strip_prefix("*]") {
        (String::new(), rest)
    } else {
        let filter = rest.strip_prefix('?').ok_or("neither [*] nor a filter")?;
        let end = filter_end(filter).ok_or("the filter does not end")?;
        let tests = filter[..end]
            .split(" && ")
            .map(jq_of_equality)
            .collect::<Result<Vec<_>, _>>()?;
        (
            format!(" | select({})", tests.join(" and ")),
            &filter[end + 1..],
        )
    };
    let chain = jq_of_chain(rest)?;
    Ok(format!(
        ".value[]{select}{}",
        if chain.is_empty() {
            String::new()
        } else {
            format!(" | {chain}")
        }
    ))
}

/// Where the filter `[?…` closes: the first `]` outside quotes and inner brackets.
fn filter_end(filter: &str) -> Option<usize> {
    let (mut depth, mut quoted) = (0usize, false);
    for (at, c) in filter.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted && depth == 0 => return Some(at),
            ']' if !quoted => depth -= 1,
            _ => {}
        }
    }
    None
}

/// `@.a.b['c'] == 'x'` → `.a.b."c" == "x"`.
fn jq_of_equality(test: &str) -> Result<String, String> {
    let (left, right) = test
        .split_once(" == ")
        .ok_or_else(|| format!("{test}: not an equality"))?;
    let member = left
        .strip_prefix('@')
        .ok_or_else(|| format!("{test}: not on the item"))?;
    let value = right
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .ok_or_else(|| format!("{test}: not a string literal"))?;
    Ok(format!("{} == \"{value}\"", jq_of_chain(member)?))
}

/// `.a.b['c'][*]` → `.a.b."c"[]`.
fn jq_of_chain(chain: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = chain;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("[*]") {
            out.push_str("[]");
            rest = after;
        } else if let Some(after) = rest.strip_prefix("['") {
            let (name, after) = after
                .split_once("']")
                .ok_or_else(|| format!("{chain}: unclosed ['"))?;
            out.push_str(&format!(".\"{name}\""));
            rest = after;
        } else if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            out.push('.');
            out.push_str(&after[..end]);
            rest = &after[end..];
        } else {
            return Err(format!("{chain}: unexpected {rest}"));
        }
    }
    Ok(out)
}

/// (median wall time, peak RSS in KiB of the slowest-to-median run) of `cmd` run `runs` times.
fn measure(program: &str, args: &[&str], runs: usize) -> (Duration, u64) {
    let mut samples = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let output = Command::new("/usr/bin/time")
            .arg("-v")
            .arg(program)
            .args(args)
            .output()
            .expect("/usr/bin/time runs");
        let wall = started.elapsed();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{program} {args:?}: {stderr}"
        );
        let rss = stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        samples.push((wall, rss));
    }
    samples.sort();
    samples[samples.len() / 2]
}

/// One offline run as `/usr/bin/time -v` saw it.
#[derive(Clone, Copy)]
struct Run {
    wall: Duration,
    /// User + system CPU time: more than the wall time when several cores work.
    cpu: Duration,
    rss_kib: u64,
}

/// The run with the median wall time of `runs` runs of cloudkeur with `threads` worker threads
/// (`None`: one per core).
fn measure_scan(binary: &Path, args: &[&str], threads: Option<usize>, runs: usize) -> Run {
    let mut samples = Vec::new();
    for _ in 0..runs {
        let mut command = Command::new("/usr/bin/time");
        command.arg("-v").arg(binary).args(args);
        if let Some(threads) = threads {
            command.env("RAYON_NUM_THREADS", threads.to_string());
        }
        let started = Instant::now();
        let output = command.output().expect("/usr/bin/time runs");
        let wall = started.elapsed();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{args:?}: {stderr}"
        );
        let field = |name: &str| -> f64 {
            stderr
                .lines()
                .find_map(|l| l.trim().strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0.0)
        };
        samples.push(Run {
            wall,
            cpu: Duration::from_secs_f64(
                field("User time (seconds):") + field("System time (seconds):"),
            ),
            rss_kib: field("Maximum resident set size (kbytes):") as u64,
        });
    }
    samples.sort_by_key(|run| run.wall);
    samples[samples.len() / 2]
}

fn scan_offline_run(binary: &Path, dir: &Path, only: &[&str], threads: Option<usize>) -> Run {
    let mut args = vec![
        "cloudkeur",
        "scan",
        "--offline",
        dir.to_str().expect("utf-8 path"),
        "--format",
        "json",
        "--output",
        "/dev/null",
    ];
    for id in only {
        args.extend(["--only", id]);
    }
    measure_scan(binary, &args, threads, 5)
}

const JQ_MFA_04: &str = r#"[.value[] | select(.userType == "member" and .isMfaCapable != true) | .userPrincipalName] | length"#;
const JQ_RBA_01: &str = r##"def holders($rows; $groups): $rows[0].value[]
  | select(.roleDefinitionId == $ga) | .principal
  | if ."@odata.type" == "#microsoft.graph.group" then $groups[0][.id].value[] else . end;
[holders($a; $g), holders($e; $eg)] | unique_by(.id) | length"##;

fn jq_checks(dir: &Path) -> (Duration, u64) {
    let file = |name: &str| {
        dir.join(format!("{name}.json"))
            .to_str()
            .expect("utf-8")
            .to_owned()
    };
    let urd = file("user_registration_details");
    let (mfa_wall, mfa_rss) = measure("jq", &[JQ_MFA_04, &urd], 3);
    let (a, g, e, eg) = (
        file("directory_role_assignments"),
        file("group_transitive_members"),
        file("role_eligibility_schedules"),
        file("eligible_group_transitive_members"),
    );
    let (rba_wall, rba_rss) = measure(
        "jq",
        &[
            "-n",
            "--arg",
            "ga",
            GLOBAL_ADMIN,
            "--slurpfile",
            "a",
            &a,
            "--slurpfile",
            "g",
            &g,
            "--slurpfile",
            "e",
            &e,
            "--slurpfile",
            "eg",
            &eg,
            JQ_RBA_01,
        ],
        3,
    );
    (mfa_wall + rba_wall, mfa_rss.max(rba_rss))
}

fn offline_vs_jq(binary: &Path, dir: &Path, n: usize) -> String {
    let size = tenant_gen::dir_size(dir);
    let full = scan_offline_run(binary, dir, &[], None);
    let one_core = scan_offline_run(binary, dir, &[], Some(1));
    let two = scan_offline_run(binary, dir, &["VTC-MFA-04", "VTC-RBA-01"], None);
    let (jq_wall, jq_rss) = jq_checks(dir);
    let mut t = String::new();
    writeln!(
        t,
        "### Offline evaluation: {n} accounts, snapshot {:.1} MB on disk\n",
        size as f64 / 1e6
    )
    .unwrap();
    writeln!(
        t,
        "| | wall time | CPU time | peak RSS | RSS ÷ snapshot size |"
    )
    .unwrap();
    writeln!(t, "|---|---:|---:|---:|---:|").unwrap();
    let row = |t: &mut String, what: &str, wall: Duration, cpu: Option<Duration>, rss: u64| {
        writeln!(
            t,
            "| {what} | {} | {} | {:.0} MB | {:.2}× |",
            secs(wall),
            cpu.map_or_else(|| "".to_owned(), secs),
            rss as f64 * 1024.0 / 1e6,
            rss as f64 * 1024.0 / size as f64
        )
        .unwrap();
    };
    row(
        &mut t,
        "`cloudkeur scan --offline`, full pack (31 policies)",
        full.wall,
        Some(full.cpu),
        full.rss_kib,
    );
    row(
        &mut t,
        "the same on one core (`RAYON_NUM_THREADS=1`)",
        one_core.wall,
        Some(one_core.cpu),
        one_core.rss_kib,
    );
    row(
        &mut t,
        "`cloudkeur scan --offline --only VTC-MFA-04 --only VTC-RBA-01`",
        two.wall,
        Some(two.cpu),
        two.rss_kib,
    );
    row(
        &mut t,
        "jq: MFA-04 + RBA-01 (two runs, summed; one core)",
        jq_wall,
        None,
        jq_rss,
    );
    let speedup = jq_wall.as_secs_f64() / full.wall.as_secs_f64();
    let one_core_speedup = jq_wall.as_secs_f64() / one_core.wall.as_secs_f64();
    let ratio = full.rss_kib as f64 * 1024.0 / size as f64;
    writeln!(
        t,
        "\nTargets: full pack ≥ 3× faster than jq on the two checks: {} ({speedup:.2}×; \
         {one_core_speedup:.2}× on one core); peak RSS ≤ 3× snapshot size: {} ({ratio:.2}×).",
        yes(speedup >= 3.0),
        yes(ratio <= 3.0)
    )
    .unwrap();
    t
}

fn growth(binary: &Path, dirs: &BTreeMap<usize, PathBuf>) -> String {
    let mut t = String::from("### Growth: offline evaluation of the full pack\n\n");
    writeln!(
        t,
        "| accounts | snapshot on disk | wall time | µs per account | peak RSS | RSS ÷ snapshot |"
    )
    .unwrap();
    writeln!(t, "|---:|---:|---:|---:|---:|---:|").unwrap();
    for (n, dir) in dirs {
        let size = tenant_gen::dir_size(dir);
        let Run {
            wall, rss_kib: rss, ..
        } = scan_offline_run(binary, dir, &[], None);
        writeln!(
            t,
            "| {n} | {:.1} MB | {} | {:.1} | {:.0} MB | {:.2}× |",
            size as f64 / 1e6,
            secs(wall),
            wall.as_secs_f64() * 1e6 / *n as f64,
            rss as f64 * 1024.0 / 1e6,
            rss as f64 * 1024.0 / size as f64
        )
        .unwrap();
    }
    t
}

/// Offline scans of tenants that differ only in the fraction of failing items, per size; each
/// fraction's time and peak RSS also as a ratio to the smallest fraction's at that size.
fn failing_growth(
    binary: &Path,
    work: &Path,
    sizes: &[usize],
    fractions: &[f64],
    rounds: usize,
) -> String {
    let mut t = String::from(
        "### Growth over the fraction failing: offline evaluation of the full pack\n\n",
    );
    writeln!(
        t,
        "Median of {rounds} runs each, round-robin over the fractions of one size. Failing items: \
         members not MFA capable (VTC-MFA-04) + users and team sites outside the EU (VTC-LOC-02).\n"
    )
    .unwrap();
    writeln!(
        t,
        "| accounts | failing | failing items | snapshot on disk | wall time | CPU time | × time at {} | peak RSS | RSS ÷ snapshot |",
        percent(fractions[0])
    )
    .unwrap();
    writeln!(t, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|").unwrap();
    let mut targets = Vec::new();
    for &n in sizes {
        let tenants: Vec<(f64, PathBuf, u64, tenant_gen::Failures)> = fractions
            .iter()
            .map(|&fraction| {
                let spec = TenantSpec::failing(n, fraction);
                let dir = work.join(format!("tenant-{n}-failing-{fraction}"));
                if !dir.join("manifest.json").exists() {
                    eprintln!(
                        "generating a tenant of {n} accounts, {} failing, in {}",
                        percent(fraction),
                        dir.display()
                    );
                    tenant_gen::write_snapshot(&spec, &dir);
                }
                let size = tenant_gen::dir_size(&dir);
                (fraction, dir, size, tenant_gen::failures(&spec))
            })
            .collect();
        eprintln!(
            "{n} accounts: {rounds} rounds over {} fractions",
            fractions.len()
        );
        let mut samples: Vec<Vec<Run>> = vec![Vec::new(); tenants.len()];
        for _ in 0..rounds {
            for (i, (_, dir, _, _)) in tenants.iter().enumerate() {
                samples[i].push(scan_offline_once(binary, dir));
            }
        }
        let medians: Vec<Run> = samples
            .into_iter()
            .map(|mut runs| {
                runs.sort_by_key(|run| run.wall);
                runs[runs.len() / 2]
            })
            .collect();
        let base = medians[0].wall.as_secs_f64();
        for ((fraction, _, size, failures), run) in tenants.iter().zip(&medians) {
            let time_ratio = run.wall.as_secs_f64() / base;
            let rss_ratio = run.rss_kib as f64 * 1024.0 / *size as f64;
            writeln!(
                t,
                "| {n} | {} | {} | {:.1} MB | {} | {} | {time_ratio:.2}× | {:.0} MB | {rss_ratio:.2}× |",
                percent(*fraction),
                failures.mfa_04 + failures.loc_02,
                *size as f64 / 1e6,
                secs(run.wall),
                secs(run.cpu),
                run.rss_kib as f64 * 1024.0 / 1e6,
            )
            .unwrap();
            if *fraction == 0.5 && n >= 50_000 {
                targets.push(format!(
                    "{n} accounts half failing: time {time_ratio:.2}× ≤ 1.5× {}, peak RSS {rss_ratio:.2}× the snapshot ≤ 3× {}",
                    yes(time_ratio <= 1.5),
                    yes(rss_ratio <= 3.0)
                ));
            }
        }
    }
    for target in targets {
        writeln!(t, "\nTarget: {target}.").unwrap();
    }
    // The reports of the largest tenant at the largest fraction, in every format.
    if let (Some(&n), Some(&fraction)) = (sizes.last(), fractions.last()) {
        let dir = work.join(format!("tenant-{n}-failing-{fraction}"));
        let failing = tenant_gen::failures(&TenantSpec::failing(n, fraction));
        writeln!(
            t,
            "\n{}",
            report_sizes(binary, &dir, &work.join("reports"), n, failing)
        )
        .unwrap();
    }
    t
}

/// Sizes of every report format from one scan: those for people list the first 50 items of a
/// finding (`--max-items`), those for machines all of them.
fn report_sizes(
    binary: &Path,
    tenant: &Path,
    out: &Path,
    n: usize,
    failing: tenant_gen::Failures,
) -> String {
    const FILES: [(&str, &str); 8] = [
        ("table", "report.txt"),
        ("html", "rapport.html"),
        ("markdown", "comment.md"),
        ("junit", "junit.xml"),
        ("json", "report.json"),
        ("csv", "findings.csv"),
        ("ocsf", "findings.jsonl"),
        ("sarif", "cloudkeur.sarif"),
    ];
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).expect("reports dir");
    let mut command = Command::new(binary);
    command
        .args(["cloudkeur", "scan", "--offline"])
        .arg(tenant)
        .args(["--format", "json", "--output", "/dev/null"]);
    for (format, file) in FILES {
        command
            .arg("--report")
            .arg(format!("{format}={}", out.join(file).display()));
    }
    let status = command.status().expect("cloudkeur runs");
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "report scan: {status}"
    );
    let mut t = format!(
        "Report sizes for {n} accounts with {} members without MFA and {} users and sites outside the EU (default `--max-items 50`):\n\n| format | size |\n|---|---:|\n",
        failing.mfa_04, failing.loc_02
    );
    for (format, file) in FILES {
        let size = std::fs::metadata(out.join(file)).map_or(0, |m| m.len());
        writeln!(t, "| {format} | {:.2} MB |", size as f64 / 1e6).unwrap();
    }
    t
}

/// One offline scan of the full pack, as `/usr/bin/time -v` saw it.
fn scan_offline_once(binary: &Path, dir: &Path) -> Run {
    let args = [
        "cloudkeur",
        "scan",
        "--offline",
        dir.to_str().expect("utf-8 path"),
        "--format",
        "json",
        "--output",
        "/dev/null",
    ];
    measure_scan(binary, &args, None, 1)
}

/// `0.0001` → `0.01 %`.
fn percent(fraction: f64) -> String {
    let text = format!("{:.4}", fraction * 100.0);
    format!("{} %", text.trim_end_matches('0').trim_end_matches('.'))
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn yes(met: bool) -> &'static str {
    if met { "**met**" } else { "**not met**" }
}
