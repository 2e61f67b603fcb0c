//! Fuzz harnesses: each turns arbitrary bytes into a script of host actions,
//! runs it against the driver's registered handlers in the simulator, and
//! checks what must hold whatever the input (principle 4): no crash, a
//! defined status for every item, a clean verifier record, nothing leaked.
//!
//! Two callers share them. `fuzz/` (cargo fuzz, coverage-guided libFuzzer)
//! explores; `tests/fuzz_replay.rs` replays the committed corpora and a
//! seeded batch of random inputs on every test run, also under valgrind.
#![allow(dead_code, clippy::disallowed_methods, clippy::disallowed_macros)]

use arbitrary::Arbitrary;

pub mod data;
pub mod fwd;
pub mod oid;
pub mod ordinary;
pub mod rx;
pub mod tree;

/// Statuses a well-formed send NBL may complete with.
pub const SEND_STATUSES: &[chimney_miniport::ffi::NDIS_STATUS] = {
    use chimney_miniport::ffi::*;
    &[
        NDIS_STATUS_SUCCESS,
        NDIS_STATUS_REQUEST_ABORTED,
        NDIS_STATUS_UPLOAD_IN_PROGRESS,
        NDIS_STATUS_FAILURE,
        NDIS_STATUS_INVALID_STATE,
    ]
};

/// A harness: one input, run to the end; panics on a broken invariant.
pub type Harness = fn(&[u8]);

/// Every harness, by its cargo-fuzz target name.
pub const TARGETS: &[(&str, Harness)] = &[
    ("rx_frames", rx::fuzz),
    ("state_tree", tree::fuzz),
    ("oid_requests", oid::fuzz),
    ("data_path", data::fuzz),
    ("ordinary_path", ordinary::fuzz),
    ("forward", fwd::fuzz),
];

/// Decode a fuzz input into at most `max` steps (`None`: the input is not
/// a script). With `FUZZ_DEBUG` set the script is printed, for reading a
/// failing input.
pub fn script<T: for<'a> arbitrary::Arbitrary<'a> + std::fmt::Debug>(
    u: arbitrary::Unstructured<'_>,
    max: usize,
) -> Option<Vec<T>> {
    let mut steps = Vec::<T>::arbitrary_take_rest(u).ok()?;
    steps.truncate(max);
    if std::env::var_os("FUZZ_DEBUG").is_some() {
        eprintln!("{steps:#?}");
    }
    Some(steps)
}

/// The NET_BUFFERs of one NBL from fuzz input: at most 3, each with at most
/// 4 MDLs of 1..=`max_mdl` bytes and an unused prefix below `max_offset`;
/// one NET_BUFFER of one `fallback`-byte MDL when the input gives none.
pub fn nb_shape(
    nbs: &[(Vec<u16>, u8)],
    max_mdl: usize,
    max_offset: usize,
    fallback: usize,
) -> Vec<ndis_sim::builders::NbSpec> {
    let one =
        |mdl_sizes: Vec<usize>, offset: usize| ndis_sim::builders::NbSpec { mdl_sizes, offset };
    let mut out: Vec<_> = nbs
        .iter()
        .take(3)
        .map(|(sizes, offset)| {
            let mut mdl_sizes: Vec<usize> = sizes
                .iter()
                .take(4)
                .map(|&s| 1 + usize::from(s) % max_mdl)
                .collect();
            if mdl_sizes.is_empty() {
                mdl_sizes.push(fallback);
            }
            one(mdl_sizes, usize::from(*offset) % max_offset)
        })
        .collect();
    if out.is_empty() {
        out.push(one(vec![fallback], 0));
    }
    out
}

/// How a harness breaks an NBL before handing it to the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Defect {
    /// No NET_BUFFER at all.
    NoNetBuffer,
    /// The first NET_BUFFER's DataLength one byte past its MDLs.
    LengthPastMdls,
    /// The first NET_BUFFER's MDL pointers NULL.
    NullMdl,
    /// Every DataLength 0: well-formed, carrying no data.
    NoData,
}

impl Defect {
    /// Whether the driver must refuse an NBL with this defect.
    pub fn malformed(self) -> bool {
        self != Defect::NoData
    }
}

/// Apply `defect` to `nbl`.
///
/// # Safety
/// `nbl` is a live NBL of the caller's chain, with at least one NET_BUFFER,
/// that the driver does not own yet.
pub unsafe fn malform(nbl: chimney_miniport::ffi::PNET_BUFFER_LIST, defect: Defect) {
    // SAFETY: caller contract.
    unsafe {
        let list = &mut (*nbl).NetBufferListHeader.NetBufferListData;
        let first = list.FirstNetBuffer;
        match defect {
            Defect::NoNetBuffer => list.FirstNetBuffer = std::ptr::null_mut(),
            Defect::LengthPastMdls => {
                (*first)
                    .NetBufferHeader
                    .NetBufferData
                    .NbDataLength
                    .DataLength += 1;
            }
            Defect::NullMdl => {
                let d = &mut (*first).NetBufferHeader.NetBufferData;
                d.CurrentMdl = std::ptr::null_mut();
                d.MdlChain = std::ptr::null_mut();
            }
            Defect::NoData => {
                let mut nb = first;
                while !nb.is_null() {
                    (*nb).NetBufferHeader.NetBufferData.NbDataLength.DataLength = 0;
                    nb = (*nb).NetBufferHeader.NetBufferData.Next;
                }
            }
        }
    }
}
