//! The server inside the namespace: accepts the host's connections, reads
//! and checks every byte, answers, closes its half, waits for the host's
//! FIN, and reports what its kernel's `TCP_INFO` says.

use super::{HOST_PORT, pattern};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// One connection, from the server's side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerReport {
    /// Bytes read before the host's FIN.
    pub received: usize,
    /// Offset of the first byte that differed from the pattern.
    pub mismatch_at: Option<usize>,
    /// The host's FIN arrived (read returned 0).
    pub eof: bool,
    /// `TCP_INFO` of the server's socket at the end.
    pub total_retrans: u32,
    pub snd_mss: u32,
    pub rcv_mss: u32,
    pub rtt_us: u32,
}

impl ServerReport {
    /// Several connections as one: sums, the first mismatch, every EOF,
    /// the first connection's MSS and RTT.
    pub fn merge(all: &[ServerReport]) -> ServerReport {
        let first = all.first().cloned().unwrap_or_default();
        ServerReport {
            received: all.iter().map(|r| r.received).sum(),
            mismatch_at: all.iter().find_map(|r| r.mismatch_at),
            eof: !all.is_empty() && all.iter().all(|r| r.eof),
            total_retrans: all.iter().map(|r| r.total_retrans).sum(),
            ..first
        }
    }
}

/// Accept `n` connections (within `limit`) and serve each on its own
/// thread: connection `k` comes from port `HOST_PORT + k`. Reports in `k` order.
pub fn serve_all(
    l: TcpListener,
    n: usize,
    expect: usize,
    reply: usize,
    limit: Duration,
) -> io::Result<Vec<ServerReport>> {
    let deadline = Instant::now() + limit;
    l.set_nonblocking(true)?;
    let mut workers = Vec::new();
    while workers.len() < n {
        match l.accept() {
            Ok((s, from)) => {
                let k = usize::from(from.port().wrapping_sub(HOST_PORT));
                workers.push((
                    k,
                    std::thread::spawn(move || serve(s, k, expect, reply, limit)),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    return Err(io::Error::other("not every connection came"));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(e),
        }
    }
    let mut out = vec![ServerReport::default(); n];
    for (k, w) in workers {
        let r = w
            .join()
            .map_err(|_| io::Error::other("a server thread panicked"))??;
        if let Some(slot) = out.get_mut(k) {
            *slot = r;
        }
    }
    Ok(out)
}

fn serve(
    mut s: TcpStream,
    k: usize,
    expect: usize,
    reply: usize,
    limit: Duration,
) -> io::Result<ServerReport> {
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(limit))?;
    s.set_write_timeout(Some(limit))?;
    let mut r = ServerReport::default();
    let mut buf = vec![0u8; 65_536];
    let up = (2 * k) as u8;
    while r.received < expect {
        let n = s.read(&mut buf)?;
        if n == 0 {
            r.eof = true;
            break;
        }
        for (i, &b) in buf[..n].iter().enumerate() {
            if r.mismatch_at.is_none() && b != pattern(up, r.received + i) {
                r.mismatch_at = Some(r.received + i);
            }
        }
        r.received += n;
    }
    let out: Vec<u8> = (0..reply).map(|i| pattern(up + 1, i)).collect();
    s.write_all(&out)?;
    s.shutdown(Shutdown::Write)?;
    while !r.eof {
        let n = s.read(&mut buf)?;
        if n == 0 {
            r.eof = true;
        }
        r.received += n;
    }
    tcp_info(&s, &mut r);
    Ok(r)
}

fn tcp_info(s: &TcpStream, r: &mut ServerReport) {
    use std::os::fd::AsRawFd;
    // SAFETY: all-zero is a valid tcp_info to be filled.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: a live socket; `info` is writable for `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        r.total_retrans = info.tcpi_total_retrans;
        r.snd_mss = info.tcpi_snd_mss;
        r.rcv_mss = info.tcpi_rcv_mss;
        r.rtt_us = info.tcpi_rtt;
    }
}
