//! OID requests carry the host's buffers: any OID (supported or not), set
//! or query, any buffer length, any contents, in any order, interleaved
//! with an offloaded connection's sends and the passing of time (so a
//! parameter or power change meets live offloaded state).
//!
//! Every request gets a status from the NDIS set; a query that succeeds
//! writes no more than its buffer and says so; a too-short buffer answers
//! with the size it needs; nothing is written past the buffer (the
//! simulator's canary); a request that pends completes (or is cancelled)
//! exactly once. At the end the connection terminates, every send NBL has
//! come back exactly once, the adapter halts, and nothing leaks.

use crate::common::send::{AUTO, Conn, chain_of, offload, send};
use crate::common::*;
use arbitrary::{Arbitrary, Unstructured};
use chimney_miniport::ffi::*;
use chimney_miniport::miniport::adapter::SUPPORTED_OIDS;
use ndis_sim::Simulator;
use ndis_sim::builders::NblChain;

#[derive(Arbitrary, Debug)]
enum OidSel {
    /// One the driver lists as supported.
    Supported(u8),
    /// Any OID at all.
    Raw(u32),
}

#[derive(Arbitrary, Debug)]
enum Step {
    Query {
        oid: OidSel,
        len: u16,
    },
    Set {
        oid: OidSel,
        data: Vec<u8>,
    },
    /// A set whose buffer starts with a well-formed NDIS_OBJECT_HEADER of
    /// the given type/revision/size (most offload OIDs check one).
    SetWithHeader {
        oid: OidSel,
        header: (u8, u8, u16),
        data: Vec<u8>,
    },
    /// Offload one connection (if none is yet).
    Offload,
    /// Send NBLs of these sizes on it.
    Send(Vec<u16>),
    /// Cancel the pended request, if any.
    Cancel,
    /// Let time pass (4 ms units).
    Advance(u8),
}

const MAX_STEPS: usize = 48;

/// Statuses an OID request may answer with.
const ALLOWED: &[NDIS_STATUS] = &[
    NDIS_STATUS_SUCCESS,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_NOT_SUPPORTED,
    NDIS_STATUS_INVALID_OID,
    NDIS_STATUS_INVALID_LENGTH,
    NDIS_STATUS_BUFFER_TOO_SHORT,
    NDIS_STATUS_INVALID_PARAMETER,
    NDIS_STATUS_INVALID_STATE,
    NDIS_STATUS_MULTICAST_FULL,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_FAILURE,
];

/// The fuzz entry.
pub fn fuzz(data: &[u8]) {
    if let Some(steps) = super::script::<Step>(Unstructured::new(data), MAX_STEPS) {
        run(&steps);
    }
}

fn oid_of(sel: &OidSel) -> NDIS_OID {
    match *sel {
        OidSel::Supported(i) => SUPPORTED_OIDS[usize::from(i) % SUPPORTED_OIDS.len()],
        OidSel::Raw(v) => v,
    }
}

struct Run {
    sim: Simulator,
    conn: Option<Conn>,
    offloaded_once: bool,
    chains: Vec<NblChain>,
    /// Requests the driver pended, not yet completed.
    pended: Vec<usize>,
}

impl Run {
    fn check(&mut self, what: &str, oid: NDIS_OID, len: usize, r: &ndis_sim::OidResult) {
        assert!(
            ALLOWED.contains(&r.status),
            "{what} {oid:#x} ({len} bytes): status {:#x}",
            r.status
        );
        if r.status == NDIS_STATUS_SUCCESS {
            assert!(
                r.bytes_written_or_read as usize <= len,
                "{what} {oid:#x}: {} bytes of a {len}-byte buffer",
                r.bytes_written_or_read
            );
        }
        if r.status == NDIS_STATUS_BUFFER_TOO_SHORT || r.status == NDIS_STATUS_INVALID_LENGTH {
            assert!(
                r.bytes_needed as usize > len || r.bytes_needed == 0,
                "{what} {oid:#x}: needs {} of a {len}-byte buffer yet refused it",
                r.bytes_needed
            );
        }
        if r.status == NDIS_STATUS_PENDING {
            let all = self.sim.pending_oid_requests();
            let newest = *all.last().expect("a pended request is kept");
            self.pended.push(newest);
        }
        self.sim.assert_clean();
    }

    fn step(&mut self, s: &Step) {
        match s {
            Step::Query { oid, len } => {
                let oid = oid_of(oid);
                let len = usize::from(*len) % 2048;
                let r = self.sim.oid_query(oid, len);
                self.check("query", oid, len, &r);
            }
            Step::Set { oid, data } => {
                let oid = oid_of(oid);
                let r = self.sim.oid_set(oid, data);
                self.check("set", oid, data.len(), &r);
            }
            Step::SetWithHeader { oid, header, data } => {
                let oid = oid_of(oid);
                let mut buf = Vec::with_capacity(4 + data.len());
                buf.push(header.0);
                buf.push(header.1);
                buf.extend_from_slice(&header.2.to_ne_bytes());
                buf.extend_from_slice(data);
                let r = self.sim.oid_set(oid, &buf);
                self.check("set", oid, buf.len(), &r);
            }
            Step::Offload => {
                // Once per run, and only while the driver would take it (a
                // refused initiate is the tree harness's business).
                if self.offloaded_once || !self.offload_enabled() {
                    return;
                }
                self.offloaded_once = true;
                self.conn = Some(offload(&self.sim, 1, 4000, AUTO));
            }
            Step::Send(sizes) => {
                let Some(c) = &self.conn else { return };
                let sizes: Vec<usize> = sizes
                    .iter()
                    .take(4)
                    .map(|&s| 1 + usize::from(s) % 5000)
                    .collect();
                if sizes.is_empty() {
                    return;
                }
                let ch = chain_of(&sizes, self.chains.len() as u8);
                send(&self.sim, c, &ch);
                self.chains.push(ch);
                self.sim.run_until_idle();
            }
            Step::Cancel => {
                if let Some(p) = self.pended.pop() {
                    self.sim.cancel_oid(p);
                    self.sim.run_until_idle();
                }
            }
            Step::Advance(units) => self.sim.advance_ms(4 * u64::from(*units)),
        }
    }

    /// Would an initiate be accepted now: the adapter powered, chimney on
    /// for IPv4 (the driver's current configuration, as the host reads it).
    fn offload_enabled(&self) -> bool {
        let r = self.sim.oid_query(
            OID_TCP_CONNECTION_OFFLOAD_CURRENT_CONFIG,
            size_of::<NDIS_TCP_CONNECTION_OFFLOAD>(),
        );
        if r.status != NDIS_STATUS_SUCCESS || !self.pended.is_empty() {
            return false;
        }
        let cfg: NDIS_TCP_CONNECTION_OFFLOAD = read(&r.data);
        cfg.Encapsulation != 0 && cfg.SupportIPv4() != 0
    }
}

fn run(steps: &[Step]) {
    let sim = with_adapter();
    let mut r = Run {
        sim,
        conn: None,
        offloaded_once: false,
        chains: Vec::new(),
        pended: Vec::new(),
    };
    for s in steps {
        r.step(s);
    }
    r.sim.run_until_idle();
    // The host uploads what is offloaded: the connection, and with it any
    // send data still queued.
    if let Some(c) = r.conn.take() {
        let (term, root) = crate::common::send::terminate_tree(&c);
        crate::common::tree::run(&r.sim, ndis_sim::StateOpKind::Terminate, &term, root);
        assert_eq!(term.status(root), NDIS_STATUS_SUCCESS, "terminated");
        // neighbor → path → connection: the connection is block 2.
        let mut back = std::collections::HashSet::new();
        let mut p = term.chain(2);
        while !p.is_null() {
            back.insert(p as usize);
            // SAFETY: NBLs of this run's chains, handed back by the terminate.
            p = unsafe { (*p).NetBufferListHeader.NetBufferListData.Next };
        }
        let done = crate::common::send::completed(&r.sim);
        for (nbl, st) in &done {
            assert!(super::SEND_STATUSES.contains(st), "send {nbl:#x}: {st:#x}");
            assert!(!back.contains(nbl), "completed and handed back");
        }
        let mut seen: Vec<usize> = done.iter().map(|x| x.0).chain(back).collect();
        seen.sort_unstable();
        let mut all: Vec<usize> = r
            .chains
            .iter()
            .flat_map(|c| c.nbls())
            .map(|p| p as usize)
            .collect();
        all.sort_unstable();
        assert_eq!(seen, all, "every send NBL back exactly once");
    }
    r.sim.run_until_idle();
    // A power transition pended for uploads completes once they are done;
    // cancel any still waiting, as NDIS would before halting.
    for p in r.pended.drain(..) {
        if !r.sim.oid_completions().iter().any(|&(q, _)| q == p) {
            r.sim.cancel_oid(p);
        }
    }
    let completions = r.sim.oid_completions();
    for p in r.sim.pending_oid_requests() {
        let n = completions.iter().filter(|&&(q, _)| q == p).count();
        assert_eq!(n, 1, "pended request {p:#x} completed {n} times");
    }
    r.sim.assert_clean();
    finish(r.sim);
}
