//! NET_BUFFER_LIST pools, MDLs, the ordinary receive indication
//! (`NdisMIndicateReceiveNetBufferLists`), and NDIS's side of lending
//! receive NBLs: what the protocol above does with them and when it gives
//! them back (`MiniportReturnNetBufferLists`, `MiniportTcpOffloadReceiveReturn`).
//!
//! Checks: every pool, NBL and MDL is registered, so one left at halt is a
//! leak and a bad free is reported; an indicated NBL must come from one of
//! the driver's pools; the `NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL` flag must
//! match the IRQL; and a lent NBL's data must be exactly what it was when it
//! was lent until it comes back (rules 50 and 74).

use super::check_irql_max;
use super::driver::adapter_sim;
use super::spinlock::check_no_lock_held;
use crate::builders::read_net_buffer;
use crate::irql;
use crate::state::{self, Kind, SimCore, lock, report};
use crate::verifier::Violation;
use chimney_miniport::ffi::*;
use std::sync::atomic::Ordering;

/// An NBL with its one NET_BUFFER, as the pool allocates them.
#[repr(C)]
struct NblBlock {
    nbl: NET_BUFFER_LIST,
    nb: NET_BUFFER,
}

/// Where a lent NBL goes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LentTo {
    /// The ordinary path: back through `MiniportReturnNetBufferLists`.
    Ordinary,
    /// The chimney host: back through `MiniportTcpOffloadReceiveReturn`.
    Chimney,
}

/// One NBL the driver lent, with its data as it was then.
pub struct Lent {
    pub nbl: usize,
    pub to: LentTo,
    pub data: Vec<u8>,
}

/// Receive-side state of one simulator.
#[derive(Default)]
pub struct RxState {
    /// Frames indicated on the ordinary path: (virtual time, bytes).
    pub ordinary: Vec<(u64, Vec<u8>)>,
    /// Each one's `Ieee8021QNetBufferListInfo` (the 802.1Q tag the NIC
    /// took off), in the same order.
    pub ordinary_8021q: Vec<usize>,
    /// NBLs the driver lent and NDIS has not given back yet, oldest first.
    pub lent: Vec<Lent>,
    /// While true, lent NBLs are kept (a test gives them back explicitly).
    pub hold: bool,
}

fn data_of(nbl: PNET_BUFFER_LIST) -> Vec<u8> {
    let mut out = Vec::new();
    // SAFETY: a registered NBL (checked by the caller) with its NET_BUFFERs.
    unsafe {
        let mut nb = (*nbl).NetBufferListHeader.NetBufferListData.FirstNetBuffer;
        while !nb.is_null() {
            out.extend(read_net_buffer(nb));
            nb = (*nb).NetBufferHeader.NetBufferData.Next;
        }
    }
    out
}

/// Record NBLs lent to NDIS (chain from `head`); returns their data.
pub(crate) fn lend(sim: &SimCore, head: PNET_BUFFER_LIST, to: LentTo) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    let mut n = head;
    let mut guard = 0;
    while !n.is_null() && guard < 1 << 20 {
        if state::lookup(n as usize, &Kind::Nbl).is_none() {
            report(Violation::BadArgument {
                export: "lend",
                detail: format!(
                    "NBL {:#x} is not from a pool the driver allocated",
                    n as usize
                ),
            });
            break;
        }
        let data = data_of(n);
        all.push(data.clone());
        lock(&sim.rx).lent.push(Lent {
            nbl: n as usize,
            to,
            data,
        });
        // SAFETY: registered NBL.
        n = unsafe { (*n).NetBufferListHeader.NetBufferListData.Next };
        guard += 1;
    }
    all
}

/// Give every lent NBL back to the driver (unless held): each is checked
/// unchanged, then returned through the handler its path uses, oldest first,
/// at DISPATCH_LEVEL. Returns how many went back.
pub fn return_lent(sim: &SimCore, force: bool) -> usize {
    let lent = {
        let mut rx = lock(&sim.rx);
        if rx.hold && !force {
            return 0;
        }
        std::mem::take(&mut rx.lent)
    };
    if lent.is_empty() {
        return 0;
    }
    let (ctx, ret, tcp_ret) = {
        let d = lock(&sim.driver);
        (
            d.adapter.context,
            d.characteristics
                .as_ref()
                .and_then(|c| c.0.ReturnNetBufferListsHandler),
            d.tcp
                .as_ref()
                .and_then(|t| t.0.TcpOffloadReceiveReturnHandler),
        )
    };
    let n = lent.len();
    for l in lent {
        let p = l.nbl as PNET_BUFFER_LIST;
        if state::lookup(l.nbl, &Kind::Nbl).is_none() {
            sim.violation(Violation::BadFree { address: l.nbl });
            continue;
        }
        if data_of(p) != l.data {
            sim.violation(Violation::BadArgument {
                export: "lent NBL",
                detail: format!("NBL {:#x} changed while NDIS owned it", l.nbl),
            });
        }
        // SAFETY: the NBL is one the driver lent and we give back once.
        unsafe { (*p).NetBufferListHeader.NetBufferListData.Next = std::ptr::null_mut() };
        match l.to {
            LentTo::Ordinary => {
                if let Some(f) = ret {
                    // SAFETY: the driver's handler with its adapter context and one NBL it lent.
                    irql::at_dispatch(|| unsafe {
                        f(ctx as NDIS_HANDLE, p, NDIS_RETURN_FLAGS_DISPATCH_LEVEL)
                    });
                }
            }
            LentTo::Chimney => {
                if let Some(f) = tcp_ret {
                    // SAFETY: as above; the handler must return SUCCESS synchronously.
                    let st = irql::at_dispatch(|| unsafe { f(ctx as NDIS_HANDLE, p) });
                    if st != NDIS_STATUS_SUCCESS {
                        sim.violation(Violation::BadReturn {
                            handler: "MiniportTcpOffloadReceiveReturn",
                            status: st,
                        });
                    }
                }
            }
        }
    }
    n
}

/// `NdisAllocateNetBufferListPool` (ndis.sys). IRQL <= DISPATCH_LEVEL.
///
/// # Safety
/// NDIS contract: valid parameters.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn NdisAllocateNetBufferListPool(
    NdisHandle: NDIS_HANDLE,
    Parameters: *const NET_BUFFER_LIST_POOL_PARAMETERS,
) -> NDIS_HANDLE {
    const E: &str = "NdisAllocateNetBufferListPool";
    check_irql_max(E, DISPATCH_LEVEL);
    let Some(sim) = adapter_sim(E, NdisHandle) else {
        return std::ptr::null_mut();
    };
    sim.record_call(E);
    if Parameters.is_null() {
        sim.violation(Violation::BadArgument {
            export: E,
            detail: "NULL parameters".into(),
        });
        return std::ptr::null_mut();
    }
    // SAFETY: checked non-NULL; the driver passes its parameters.
    let p = unsafe { *Parameters };
    if p.Header.Type != NDIS_OBJECT_TYPE_DEFAULT
        || p.Header.Revision < NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1
        || p.Header.Size < NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1
        || p.PoolTag == 0
    {
        sim.violation(Violation::BadArgument {
            export: E,
            detail: format!("bad parameters {p:?}"),
        });
        return std::ptr::null_mut();
    }
    sim_alloc_kind(&sim, Kind::NblPool)
}

/// A 16-byte token registered as `kind` (pools and their like).
fn sim_alloc_kind(sim: &std::sync::Arc<SimCore>, kind: Kind) -> NDIS_HANDLE {
    if !sim.allocation_allowed() {
        return std::ptr::null_mut();
    }
    let token = Box::into_raw(Box::new([0u64; 2]));
    state::register(token as usize, kind, sim);
    token.cast()
}

/// `NdisFreeNetBufferListPool` (ndis.sys). IRQL <= DISPATCH_LEVEL.
#[unsafe(no_mangle)]
pub extern "system" fn NdisFreeNetBufferListPool(PoolHandle: NDIS_HANDLE) {
    const E: &str = "NdisFreeNetBufferListPool";
    check_irql_max(E, DISPATCH_LEVEL);
    let live = state::lookup(PoolHandle as usize, &Kind::NblPool);
    let Some(sim) = live else {
        report(Violation::BadFree {
            address: PoolHandle as usize,
        });
        return;
    };
    let remaining = sim
        .live_resources()
        .iter()
        .filter(|(a, k)| *k == Kind::Nbl && owner_pool(*a) == PoolHandle as usize)
        .count();
    if remaining > 0 {
        sim.violation(Violation::BadArgument {
            export: E,
            detail: format!("{remaining} NBLs of the pool are still allocated"),
        });
    }
    state::unregister(PoolHandle as usize);
    // SAFETY: the token `sim_alloc_kind` boxed, unregistered just now.
    drop(unsafe { Box::from_raw(PoolHandle.cast::<[u64; 2]>()) });
}

fn owner_pool(nbl: usize) -> usize {
    // SAFETY: `nbl` is a registered NBL block.
    unsafe { (*(nbl as PNET_BUFFER_LIST)).NdisPoolHandle as usize }
}

/// `NdisAllocateNetBufferAndNetBufferList` (ndis.sys). IRQL <= DISPATCH_LEVEL.
#[unsafe(no_mangle)]
pub extern "system" fn NdisAllocateNetBufferAndNetBufferList(
    PoolHandle: NDIS_HANDLE,
    ContextSize: USHORT,
    _ContextBackFill: USHORT,
    MdlChain: PMDL,
    DataOffset: ULONG,
    DataLength: SIZE_T,
) -> PNET_BUFFER_LIST {
    const E: &str = "NdisAllocateNetBufferAndNetBufferList";
    check_irql_max(E, DISPATCH_LEVEL);
    let Some(sim) = state::lookup(PoolHandle as usize, &Kind::NblPool) else {
        report(Violation::BadHandle {
            export: E,
            handle: PoolHandle as usize,
        });
        return std::ptr::null_mut();
    };
    if ContextSize != 0 {
        sim.violation(Violation::BadArgument {
            export: E,
            detail: "the simulator supports ContextSize 0 only".into(),
        });
        return std::ptr::null_mut();
    }
    if !sim.allocation_allowed() {
        return std::ptr::null_mut();
    }
    // SAFETY: every field of both structures is an integer, pointer or
    // array of them: all-zero is a valid value.
    let block: Box<NblBlock> = Box::new(unsafe { std::mem::zeroed() });
    let p = Box::into_raw(block);
    // SAFETY: `p` is a fresh, exclusively owned block.
    unsafe {
        let nb = &raw mut (*p).nb;
        (*p).nbl
            .NetBufferListHeader
            .NetBufferListData
            .FirstNetBuffer = nb;
        (*p).nbl.NdisPoolHandle = PoolHandle;
        (*nb).NdisPoolHandle = PoolHandle;
        let d = &mut (*nb).NetBufferHeader.NetBufferData;
        d.MdlChain = MdlChain;
        d.CurrentMdl = MdlChain;
        d.DataOffset = DataOffset;
        d.CurrentMdlOffset = DataOffset;
        d.NbDataLength.stDataLength = DataLength;
    }
    state::register(p as usize, Kind::Nbl, &sim);
    p.cast()
}

/// `NdisFreeNetBufferList` (ndis.sys). IRQL <= DISPATCH_LEVEL.
#[unsafe(no_mangle)]
pub extern "system" fn NdisFreeNetBufferList(NetBufferList: PNET_BUFFER_LIST) {
    const E: &str = "NdisFreeNetBufferList";
    check_irql_max(E, DISPATCH_LEVEL);
    if state::lookup(NetBufferList as usize, &Kind::Nbl).is_none() {
        report(Violation::BadFree {
            address: NetBufferList as usize,
        });
        return;
    }
    if let Some(sim) = state::current()
        && lock(&sim.rx)
            .lent
            .iter()
            .any(|l| l.nbl == NetBufferList as usize)
    {
        sim.violation(Violation::BadArgument {
            export: E,
            detail: "freed an NBL NDIS still owns".into(),
        });
    }
    state::unregister(NetBufferList as usize);
    // SAFETY: allocated as an NblBlock by NdisAllocateNetBufferAndNetBufferList.
    drop(unsafe { Box::from_raw(NetBufferList.cast::<NblBlock>()) });
}

/// `NdisAllocateMdl` (ndis.sys): an MDL for nonpaged memory. IRQL <= DISPATCH_LEVEL.
#[unsafe(no_mangle)]
pub extern "system" fn NdisAllocateMdl(
    NdisHandle: NDIS_HANDLE,
    VirtualAddress: PVOID,
    Length: UINT,
) -> PMDL {
    const E: &str = "NdisAllocateMdl";
    check_irql_max(E, DISPATCH_LEVEL);
    let Some(sim) = adapter_sim(E, NdisHandle) else {
        return std::ptr::null_mut();
    };
    if !sim.allocation_allowed() {
        return std::ptr::null_mut();
    }
    let va = VirtualAddress as usize;
    let mdl = MDL {
        Next: std::ptr::null_mut(),
        Size: std::mem::size_of::<MDL>() as CSHORT,
        MdlFlags: MDL_SOURCE_IS_NONPAGED_POOL,
        Process: std::ptr::null_mut(),
        MappedSystemVa: VirtualAddress,
        StartVa: (va & !0xFFF) as PVOID,
        ByteCount: Length,
        ByteOffset: (va & 0xFFF) as ULONG,
    };
    let p = Box::into_raw(Box::new(mdl));
    state::register(p as usize, Kind::Mdl, &sim);
    p
}

/// `NdisMSleep` (ndis.sys): PASSIVE_LEVEL only, no spin lock held. The
/// simulated host gets a turn while the driver waits (the harness's
/// `on_sleep` hook: e.g. NDIS returning lent NBLs); the thread then yields.
#[unsafe(no_mangle)]
pub extern "system" fn NdisMSleep(MicrosecondsToSleep: ULONG) {
    const E: &str = "NdisMSleep";
    let irql = crate::irql::current();
    if irql != chimney_miniport::ffi::PASSIVE_LEVEL {
        report(Violation::IrqlTooHigh {
            export: E,
            irql,
            max: chimney_miniport::ffi::PASSIVE_LEVEL,
        });
    }
    super::spinlock::check_no_lock_held(E);
    if let Some(sim) = crate::state::current() {
        let hook = lock(&sim.on_sleep).take();
        if let Some(mut f) = hook {
            f(MicrosecondsToSleep);
            let mut slot = lock(&sim.on_sleep);
            if slot.is_none() {
                *slot = Some(f);
            }
        }
    }
    std::thread::yield_now();
}

/// `NdisFreeMdl` (ndis.sys). IRQL <= DISPATCH_LEVEL.
#[unsafe(no_mangle)]
pub extern "system" fn NdisFreeMdl(Mdl: PMDL) {
    check_irql_max("NdisFreeMdl", DISPATCH_LEVEL);
    if state::lookup(Mdl as usize, &Kind::Mdl).is_none() {
        report(Violation::BadFree {
            address: Mdl as usize,
        });
        return;
    }
    state::unregister(Mdl as usize);
    // SAFETY: boxed by NdisAllocateMdl, unregistered just now.
    drop(unsafe { Box::from_raw(Mdl) });
}

/// `NdisMIndicateReceiveNetBufferLists` (ndis.sys). IRQL <= DISPATCH_LEVEL.
/// The frames are recorded; unless `NDIS_RECEIVE_FLAGS_RESOURCES` is set the
/// NBLs stay with NDIS until [`return_lent`].
#[unsafe(no_mangle)]
pub extern "system" fn NdisMIndicateReceiveNetBufferLists(
    MiniportAdapterHandle: NDIS_HANDLE,
    NetBufferLists: PNET_BUFFER_LIST,
    _PortNumber: NDIS_PORT_NUMBER,
    NumberOfNetBufferLists: ULONG,
    ReceiveFlags: ULONG,
) {
    const E: &str = "NdisMIndicateReceiveNetBufferLists";
    check_irql_max(E, DISPATCH_LEVEL);
    check_no_lock_held(E);
    let Some(sim) = adapter_sim(E, MiniportAdapterHandle) else {
        return;
    };
    let at_dispatch = irql::current() == DISPATCH_LEVEL;
    if at_dispatch != (ReceiveFlags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL != 0) {
        sim.violation(Violation::BadArgument {
            export: E,
            detail: format!("ReceiveFlags {ReceiveFlags:#x} at IRQL {}", irql::current()),
        });
    }
    let now = sim.now_100ns.load(Ordering::SeqCst);
    let before = lock(&sim.rx).lent.len();
    let mut tags = Vec::new();
    let mut p = NetBufferLists;
    while !p.is_null() && tags.len() < 1 << 20 {
        // SAFETY: the driver's NBLs, being indicated; read before `lend`
        // walks them too.
        unsafe {
            tags.push((*p).NetBufferListInfo[Ieee8021QNetBufferListInfo as usize] as usize);
            p = (*p).NetBufferListHeader.NetBufferListData.Next;
        }
    }
    let frames = lend(&sim, NetBufferLists, LentTo::Ordinary);
    if frames.len() != NumberOfNetBufferLists as usize {
        sim.violation(Violation::BadArgument {
            export: E,
            detail: format!(
                "NumberOfNetBufferLists {NumberOfNetBufferLists}, chain of {}",
                frames.len()
            ),
        });
    }
    let mut rx = lock(&sim.rx);
    rx.ordinary.extend(frames.into_iter().map(|f| (now, f)));
    rx.ordinary_8021q.extend(tags);
    if ReceiveFlags & NDIS_RECEIVE_FLAGS_RESOURCES != 0 {
        // The protocol copied what it keeps: the NBLs are the driver's again.
        rx.lent.truncate(before);
    }
}
