//! chimney-sim's real-TCP run: one offloaded connection against the Linux
//! kernel (`ndis_sim::linux`), with a progress bar, a summary, and on
//! request a JSON summary and SVG plots.

use super::options::Options;
use ndis_sim::Simulator;
use ndis_sim::link::LinkCounters;
use ndis_sim::linux::{self, Plan, Report};
use ndis_sim::plot::{Series, svg};
use std::io::Write;
use std::time::{Duration, Instant};

fn kib(b: u64) -> String {
    format!("{} KiB", b / 1024)
}

/// Draw the bar on stderr at most every 100 ms (and at 100%).
struct Bar {
    total: u64,
    last: Option<Instant>,
    quiet: bool,
}

impl Bar {
    fn show(&mut self, plan: &Plan, acked: u64, received: u64) {
        let done = acked + received;
        if self.quiet
            || self.total == 0
            || (done < self.total
                && self
                    .last
                    .is_some_and(|t| t.elapsed() < Duration::from_millis(100)))
        {
            return;
        }
        self.last = Some(Instant::now());
        let frac = done as f64 / self.total as f64;
        let width = 30;
        let fill = ((frac * width as f64) as usize).min(width);
        eprint!(
            "\r  [{}{}] {:3.0}%  acked {}/{}  received {}/{}  ",
            "=".repeat(fill),
            " ".repeat(width - fill),
            frac * 100.0,
            kib(acked),
            kib((plan.send_bytes * plan.connections) as u64),
            kib(received),
            kib((plan.reply_bytes * plan.connections) as u64)
        );
        let _ = std::io::stderr().flush();
    }
}

fn ppm_pct(p: u32) -> f64 {
    f64::from(p) / 10_000.0
}

/// Run it; false if anything did not add up.
pub fn linux_demo(sim: &Simulator, opts: &Options) -> bool {
    let plan = &opts.plan;
    let imp = plan.link.outbound;
    println!(
        "\nLinux peer: {} connection(s) over IPv{}, each {} through the driver to the kernel's TCP in a \
         network namespace (TAP), {} back;\n  \
         impairments each way: loss {}%, duplication {}%, reordering {}% by {} ms, delay {} ms, seed {}",
        plan.connections,
        if plan.ipv6 { 6 } else { 4 },
        kib(plan.send_bytes as u64),
        kib(plan.reply_bytes as u64),
        ppm_pct(imp.loss_ppm),
        ppm_pct(imp.dup_ppm),
        ppm_pct(imp.reorder_ppm),
        imp.reorder_ms,
        imp.delay_ms,
        plan.link.seed
    );
    let mut bar = Bar {
        total: ((plan.send_bytes + plan.reply_bytes) * plan.connections) as u64,
        last: None,
        quiet: opts.quiet,
    };
    let rep = match linux::run(sim, plan, &mut |a, r| bar.show(plan, a, r)) {
        Ok(r) => r,
        Err(e) => {
            println!("Linux peer: setup failed: {e}");
            return false;
        }
    };
    if !opts.quiet {
        eprintln!();
    }
    summary(&rep, plan);
    if let Some(path) = &opts.json {
        if let Some(dir) = std::path::Path::new(path).parent()
            && !dir.as_os_str().is_empty()
        {
            let _ = std::fs::create_dir_all(dir);
        }
        match std::fs::write(path, json(&rep, plan)) {
            Ok(()) => println!("JSON summary written to {path}"),
            Err(e) => println!("Could not write {path}: {e}"),
        }
    }
    if let Some(dir) = &opts.plots {
        match plots(&rep, dir) {
            Ok(()) => println!("Plots written to {dir}/seq.svg and {dir}/cwnd.svg"),
            Err(e) => println!("Could not write plots to {dir}: {e}"),
        }
    }
    rep.ok(plan)
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "NO" }
}

fn summary(r: &Report, plan: &Plan) {
    let secs = (r.timeline.reply_done_ms - r.timeline.handshake_ms).max(1e-3) / 1e3;
    let goodput =
        ((plan.send_bytes + plan.reply_bytes) * plan.connections) as f64 * 8.0 / secs / 1e6;
    println!(
        "  handshake on the ordinary path: {} ({} SYN{}), {:.1} ms",
        yes(r.handshake),
        r.syn_sent,
        if r.syn_sent == 1 { "" } else { "s" },
        r.timeline.handshake_ms
    );
    println!(
        "  MiniportInitiateOffload: {:#010x}; send NBLs completed SUCCESS: {}/{}",
        r.offload_status as u32, r.nbls_success, r.nbls
    );
    println!(
        "  server read {} (intact: {}), received {} ({} in posted receive requests, the rest \
         through chimney indications; intact: {})",
        kib(r.server.received as u64),
        yes(r.server.mismatch_at.is_none()),
        kib(r.reply_received as u64),
        kib(r.reply_in_requests as u64),
        yes(r.reply_intact)
    );
    println!(
        "  server FIN indicated: {}; graceful disconnect: {}; upload: {:#010x}, states {}; \
         SndUna and RcvNxt advanced by the data and the FIN: {}",
        yes(r.peer_fin_indicated),
        r.disconnect_status
            .map_or("not completed".into(), |s| format!("{:#010x}", s as u32)),
        r.upload_status as u32,
        states(&r.uploaded_states),
        yes(r.uploaded_sequence_right)
    );
    let line = |name: &str, c: &LinkCounters| {
        println!(
            "  link {name}: {} frames, {} lost, {} duplicated, {} reordered",
            c.frames, c.dropped, c.duplicated, c.reordered
        );
    };
    line("driver -> Linux", &r.outbound);
    line("Linux -> driver", &r.inbound);
    println!(
        "  retransmitted segments: driver {}, Linux {}; Linux's MSS to us {}, RTT {} us",
        r.driver_retransmitted, r.server.total_retrans, r.server.rcv_mss, r.server.rtt_us
    );
    println!(
        "  {:.1} ms from handshake to the last byte, {:.1} Mbit/s both ways together; closed at {:.1} ms",
        secs * 1e3,
        goodput,
        r.timeline.closed_ms
    );
    println!(
        "  verifier violations: {}; result: {}",
        r.violations.len(),
        if r.ok(plan) { "OK" } else { "FAILED" }
    );
}

/// The uploaded states, counted by name.
fn states(all: &[u32]) -> String {
    let mut names: Vec<(&str, usize)> = Vec::new();
    for &s in all {
        let n = state_name(s);
        match names.iter_mut().find(|x| x.0 == n) {
            Some(x) => x.1 += 1,
            None => names.push((n, 1)),
        }
    }
    names
        .iter()
        .map(|(n, c)| format!("{c} x {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// RFC 793's name of a `TCP_OFFLOAD_CONNECTION_STATE`.
fn state_name(s: u32) -> &'static str {
    [
        "CLOSED",
        "LISTEN",
        "SYN_SENT",
        "SYN_RCVD",
        "ESTABLISHED",
        "FIN_WAIT_1",
        "FIN_WAIT_2",
        "CLOSE_WAIT",
        "CLOSING",
        "LAST_ACK",
        "TIME_WAIT",
    ]
    .get(s as usize)
    .copied()
    .unwrap_or("?")
}

fn json(r: &Report, plan: &Plan) -> String {
    let imp = |i: &ndis_sim::link::Impairment| {
        format!(
            r#"{{"loss_ppm":{},"dup_ppm":{},"reorder_ppm":{},"reorder_ms":{},"delay_ms":{}}}"#,
            i.loss_ppm, i.dup_ppm, i.reorder_ppm, i.reorder_ms, i.delay_ms
        )
    };
    let counters = |c: &LinkCounters| {
        format!(
            r#"{{"frames":{},"dropped":{},"duplicated":{},"reordered":{}}}"#,
            c.frames, c.dropped, c.duplicated, c.reordered
        )
    };
    let samples: Vec<String> = r
        .samples
        .iter()
        .map(|s| {
            format!(
                r#"{{"t_ms":{:.3},"snd_una":{},"snd_nxt":{},"cwnd":{},"ssthresh":{},"received":{}}}"#,
                s.t_ms, s.snd_una, s.snd_nxt, s.cwnd, s.ssthresh, s.received
            )
        })
        .collect();
    let violations: Vec<String> = r
        .violations
        .iter()
        .map(|v| format!("{:?}", v.to_string()))
        .collect();
    format!(
        concat!(
            "{{\n",
            r#"  "ok": {},"#,
            "\n",
            r#"  "plan": {{"connections":{},"ipv6":{},"send_bytes":{},"reply_bytes":{},"nbl_bytes":{},"seed":{},"outbound":{},"inbound":{}}},"#,
            "\n",
            r#"  "handshake": {}, "syn_sent": {}, "offload_status": {}, "nbls": {}, "nbls_success": {},"#,
            "\n",
            r#"  "server": {{"received":{},"intact":{},"eof":{},"total_retrans":{},"rcv_mss":{},"snd_mss":{},"rtt_us":{}}},"#,
            "\n",
            r#"  "reply_received": {}, "reply_in_requests": {}, "reply_intact": {}, "peer_fin_indicated": {}, "disconnect_status": {},"#,
            "\n",
            r#"  "upload_status": {}, "uploaded_states": {:?}, "uploaded_sequence_right": {}, "driver_retransmitted": {},"#,
            "\n",
            r#"  "link": {{"outbound":{},"inbound":{}}},"#,
            "\n",
            r#"  "timeline_ms": {{"handshake":{:.3},"sends_done":{:.3},"reply_done":{:.3},"closed":{:.3}}},"#,
            "\n",
            r#"  "violations": [{}],"#,
            "\n",
            r#"  "samples": [{}]"#,
            "\n}}\n"
        ),
        r.ok(plan),
        plan.connections,
        plan.ipv6,
        plan.send_bytes,
        plan.reply_bytes,
        plan.nbl_bytes,
        plan.link.seed,
        imp(&plan.link.outbound),
        imp(&plan.link.inbound),
        r.handshake,
        r.syn_sent,
        r.offload_status,
        r.nbls,
        r.nbls_success,
        r.server.received,
        r.server.mismatch_at.is_none(),
        r.server.eof,
        r.server.total_retrans,
        r.server.rcv_mss,
        r.server.snd_mss,
        r.server.rtt_us,
        r.reply_received,
        r.reply_in_requests,
        r.reply_intact,
        r.peer_fin_indicated,
        r.disconnect_status.map_or("null".into(), |s| s.to_string()),
        r.upload_status,
        r.uploaded_states,
        r.uploaded_sequence_right,
        r.driver_retransmitted,
        counters(&r.outbound),
        counters(&r.inbound),
        r.timeline.handshake_ms,
        r.timeline.sends_done_ms,
        r.timeline.reply_done_ms,
        r.timeline.closed_ms,
        violations.join(","),
        samples.join(",\n    ")
    )
}

fn plots(r: &Report, dir: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let pts = |f: &dyn Fn(&linux::Sample) -> f64| -> Vec<(f64, f64)> {
        r.samples.iter().map(|s| (s.t_ms, f(s))).collect()
    };
    let seq = svg(
        "First offloaded connection: send sequence (relative to the first byte)",
        "wall time (ms)",
        "bytes",
        &[
            Series {
                name: "SND.NXT",
                color: "#1f77b4",
                steps: true,
                points: pts(&|s| f64::from(s.snd_nxt)),
            },
            Series {
                name: "SND.UNA",
                color: "#2ca02c",
                steps: true,
                points: pts(&|s| f64::from(s.snd_una)),
            },
            Series {
                name: "reply received",
                color: "#ff7f0e",
                steps: true,
                points: pts(&|s| s.received as f64),
            },
        ],
    );
    std::fs::write(format!("{dir}/seq.svg"), seq)?;
    let cap = r
        .samples
        .iter()
        .map(|s| f64::from(s.cwnd))
        .fold(0f64, f64::max);
    let cwnd = svg(
        "First offloaded connection: congestion window",
        "wall time (ms)",
        "bytes",
        &[
            Series {
                name: "cwnd",
                color: "#d62728",
                steps: true,
                points: pts(&|s| f64::from(s.cwnd)),
            },
            Series {
                name: "ssthresh (clipped to the cwnd's peak)",
                color: "#9467bd",
                steps: true,
                points: pts(&|s| f64::from(s.ssthresh).min(cap)),
            },
            Series {
                name: "in flight (SND.NXT - SND.UNA)",
                color: "#7f7f7f",
                steps: true,
                points: pts(&|s| f64::from(s.snd_nxt.wrapping_sub(s.snd_una))),
            },
        ],
    );
    std::fs::write(format!("{dir}/cwnd.svg"), cwnd)
}
