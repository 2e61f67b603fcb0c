//! chimney-sim's command line.

use ndis_sim::link::{Impairment, LinkConfig};
use ndis_sim::linux::Plan;
use std::time::Duration;

/// Which far end carries the real-TCP run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerChoice {
    /// The Linux kernel when this machine allows it, else only the scripted run.
    Auto,
    /// The Linux kernel, or fail.
    Linux,
    /// Only the scripted peer.
    Scripted,
}

pub struct Options {
    pub peer: PeerChoice,
    pub pcap: Option<String>,
    pub json: Option<String>,
    pub plots: Option<String>,
    pub plan: Plan,
    /// No progress bar.
    pub quiet: bool,
}

pub const USAGE: &str = "\
usage: chimney-sim [options]

  --peer auto|linux|scripted  far end of the real-TCP run (auto: Linux when root)
  --send BYTES                bytes the host sends through the offloaded connection (1M)
  --reply BYTES               bytes the Linux server sends back (256K)
  --nbl BYTES                 bytes per send NBL (64K)
  --connections N             connections, offloaded in one tree (1)
  --ipv6                      IPv6 instead of IPv4
  --posted BYTES              take the reply in posted receive requests of BYTES
                              (4 per connection) rather than in indications
  --seed N                    seed of the link's impairment decisions (1)
  --loss PCT                  frames lost, each way (0)
  --dup PCT                   frames duplicated, each way (0)
  --reorder PCT               frames held back, each way (0)
  --reorder-ms MS             how long a held-back frame waits (3)
  --delay MS                  one-way delay added to every frame (0)
  --limit SECONDS             give up after (60)
  --pcap FILE                 write the wire capture (both runs, libpcap)
  --json FILE                 write the Linux run's summary and samples as JSON
  --plots DIR                 write seq.svg and cwnd.svg of the Linux run
  --quiet                     no progress bar
";

/// `1048576`, `1024K`, `1M` (binary multiples).
fn bytes(v: &str) -> Result<usize, String> {
    let (num, mul) = match v.chars().last() {
        Some('K' | 'k') => (&v[..v.len() - 1], 1 << 10),
        Some('M' | 'm') => (&v[..v.len() - 1], 1 << 20),
        Some('G' | 'g') => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    num.parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .ok_or_else(|| format!("not a byte count: {v}"))
}

/// A percentage as parts per million.
fn ppm(v: &str) -> Result<u32, String> {
    match v.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok((p * 10_000.0).round() as u32),
        _ => Err(format!("not a percentage in 0..=100: {v}")),
    }
}

fn number<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("not a number: {v}"))
}

pub fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut o = Options {
        peer: PeerChoice::Auto,
        pcap: None,
        json: None,
        plots: None,
        plan: Plan::default(),
        quiet: false,
    };
    let mut imp = Impairment {
        reorder_ms: 3,
        ..Impairment::default()
    };
    let mut seed = 1u64;
    let mut args = args.peekable();
    while let Some(a) = args.next() {
        if a == "--help" || a == "-h" {
            return Err(USAGE.to_string());
        }
        if a == "--quiet" {
            o.quiet = true;
            continue;
        }
        if a == "--ipv6" {
            o.plan.ipv6 = true;
            continue;
        }
        let v = args
            .next()
            .ok_or_else(|| format!("{a} needs a value\n\n{USAGE}"))?;
        match a.as_str() {
            "--peer" => {
                o.peer = match v.as_str() {
                    "auto" => PeerChoice::Auto,
                    "linux" => PeerChoice::Linux,
                    "scripted" => PeerChoice::Scripted,
                    _ => return Err(format!("--peer auto|linux|scripted, not {v}")),
                }
            }
            "--send" => o.plan.send_bytes = bytes(&v)?,
            "--reply" => o.plan.reply_bytes = bytes(&v)?,
            "--nbl" => o.plan.nbl_bytes = bytes(&v)?.max(1),
            "--connections" => o.plan.connections = number::<usize>(&v)?.clamp(1, 1000),
            "--posted" => o.plan.posted_receives = Some(bytes(&v)?.clamp(1, 1 << 20)),
            "--seed" => seed = number(&v)?,
            "--loss" => imp.loss_ppm = ppm(&v)?,
            "--dup" => imp.dup_ppm = ppm(&v)?,
            "--reorder" => imp.reorder_ppm = ppm(&v)?,
            "--reorder-ms" => imp.reorder_ms = number(&v)?,
            "--delay" => imp.delay_ms = number(&v)?,
            "--limit" => o.plan.limit = Duration::from_secs(number(&v)?),
            "--pcap" => o.pcap = Some(v),
            "--json" => o.json = Some(v),
            "--plots" => o.plots = Some(v),
            _ => return Err(format!("unknown option {a}\n\n{USAGE}")),
        }
    }
    o.plan.link = LinkConfig {
        seed,
        outbound: imp,
        inbound: imp,
    };
    Ok(o)
}
