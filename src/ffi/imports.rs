//! The functions the driver imports, exactly as ndis.sys exports them.
//!
//! On Windows they bind to ndis.lib. On a Linux host the simulator (`ndis-sim`)
//! defines functions with these names and signatures, and the linker resolves
//! the same imports to them: the driver's code is unchanged between the two.
//!
//! The six chimney completion/indication entry points (`NdisTcpOffloadSendComplete`
//! and siblings) are deliberately absent: they are not exports, they come from
//! the table `NdisMGetOffloadHandlers` returns (spec rule 5).

use super::*;

#[cfg_attr(
    target_os = "windows",
    link(name = "ndis", kind = "static", modifiers = "-bundle")
)]
unsafe extern "system" {
    // Driver and adapter registration (PASSIVE_LEVEL).
    pub fn NdisMRegisterMiniportDriver(
        DriverObject: PDRIVER_OBJECT,
        RegistryPath: PUNICODE_STRING,
        MiniportDriverContext: NDIS_HANDLE,
        MiniportDriverCharacteristics: PNDIS_MINIPORT_DRIVER_CHARACTERISTICS,
        NdisMiniportDriverHandle: PNDIS_HANDLE,
    ) -> NDIS_STATUS;
    pub fn NdisMDeregisterMiniportDriver(NdisMiniportDriverHandle: NDIS_HANDLE);
    pub fn NdisSetOptionalHandlers(
        NdisHandle: NDIS_HANDLE,
        OptionalHandlers: PNDIS_DRIVER_OPTIONAL_HANDLERS,
    ) -> NDIS_STATUS;
    pub fn NdisMSetMiniportAttributes(
        NdisMiniportHandle: NDIS_HANDLE,
        MiniportAttributes: PNDIS_MINIPORT_ADAPTER_ATTRIBUTES,
    ) -> NDIS_STATUS;

    // Configuration (PASSIVE_LEVEL).
    pub fn NdisOpenConfigurationEx(
        ConfigObject: PNDIS_CONFIGURATION_OBJECT,
        ConfigurationHandle: PNDIS_HANDLE,
    ) -> NDIS_STATUS;
    pub fn NdisReadConfiguration(
        Status: PNDIS_STATUS,
        ParameterValue: *mut PNDIS_CONFIGURATION_PARAMETER,
        ConfigurationHandle: NDIS_HANDLE,
        Keyword: PNDIS_STRING,
        ParameterType: NDIS_PARAMETER_TYPE,
    );
    pub fn NdisCloseConfiguration(ConfigurationHandle: NDIS_HANDLE);

    // Status, OID and ordinary data-path completions.
    pub fn NdisMIndicateStatusEx(
        MiniportAdapterHandle: NDIS_HANDLE,
        StatusIndication: PNDIS_STATUS_INDICATION,
    );
    pub fn NdisMOidRequestComplete(
        MiniportAdapterHandle: NDIS_HANDLE,
        OidRequest: PNDIS_OID_REQUEST,
        Status: NDIS_STATUS,
    );
    pub fn NdisMSendNetBufferListsComplete(
        MiniportAdapterHandle: NDIS_HANDLE,
        NetBufferLists: PNET_BUFFER_LIST,
        SendCompleteFlags: ULONG,
    );

    // Memory (IRQL <= DISPATCH_LEVEL).
    pub fn NdisAllocateMemoryWithTagPriority(
        NdisHandle: NDIS_HANDLE,
        Length: UINT,
        Tag: ULONG,
        Priority: EX_POOL_PRIORITY,
    ) -> PVOID;
    pub fn NdisFreeMemory(VirtualAddress: PVOID, Length: UINT, MemoryFlags: UINT);

    // Spin locks.
    pub fn NdisAllocateSpinLock(SpinLock: PNDIS_SPIN_LOCK);
    pub fn NdisFreeSpinLock(SpinLock: PNDIS_SPIN_LOCK);
    pub fn NdisAcquireSpinLock(SpinLock: PNDIS_SPIN_LOCK);
    pub fn NdisReleaseSpinLock(SpinLock: PNDIS_SPIN_LOCK);
    pub fn NdisDprAcquireSpinLock(SpinLock: PNDIS_SPIN_LOCK);
    pub fn NdisDprReleaseSpinLock(SpinLock: PNDIS_SPIN_LOCK);

    // Timer objects and I/O work items.
    pub fn NdisAllocateTimerObject(
        NdisHandle: NDIS_HANDLE,
        TimerCharacteristics: *const NDIS_TIMER_CHARACTERISTICS,
        pTimerObject: PNDIS_HANDLE,
    ) -> NDIS_STATUS;
    pub fn NdisSetTimerObject(
        TimerObject: NDIS_HANDLE,
        DueTime: i64,
        MillisecondsPeriod: ULONG,
        FunctionContext: PVOID,
    ) -> BOOLEAN;
    pub fn NdisCancelTimerObject(TimerObject: NDIS_HANDLE) -> BOOLEAN;
    pub fn NdisFreeTimerObject(TimerObject: NDIS_HANDLE);
    pub fn NdisAllocateIoWorkItem(NdisObjectHandle: NDIS_HANDLE) -> NDIS_HANDLE;
    pub fn NdisQueueIoWorkItem(
        NdisIoWorkItemHandle: NDIS_HANDLE,
        Routine: NDIS_IO_WORKITEM_FUNCTION,
        WorkItemContext: PVOID,
    );
    pub fn NdisFreeIoWorkItem(NdisIoWorkItemHandle: NDIS_HANDLE);

    // TCP chimney: handler table and state-operation completions (ndis.sys exports).
    pub fn NdisMGetOffloadHandlers(
        NdisMiniportHandle: NDIS_HANDLE,
        ChimneyType: NDIS_CHIMNEY_OFFLOAD_TYPE,
        OffloadHandlers: *mut PNDIS_OFFLOAD_EVENT_HANDLERS,
    ) -> NDIS_STATUS;
    pub fn NdisMInitiateOffloadComplete(
        NdisMiniportHandle: NDIS_HANDLE,
        OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    );
    pub fn NdisMTerminateOffloadComplete(
        NdisMiniportHandle: NDIS_HANDLE,
        OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    );
    pub fn NdisMUpdateOffloadComplete(
        NdisMiniportHandle: NDIS_HANDLE,
        OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    );
    pub fn NdisMInvalidateOffloadComplete(
        NdisMiniportHandle: NDIS_HANDLE,
        OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    );
    pub fn NdisMQueryOffloadStateComplete(
        NdisMiniportHandle: NDIS_HANDLE,
        OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    );
    // Data-path helpers (IRQL <= DISPATCH_LEVEL).
    pub fn NdisAdvanceNetBufferDataStart(
        NetBuffer: PNET_BUFFER,
        DataOffsetDelta: ULONG,
        FreeMdl: BOOLEAN,
        FreeMdlHandler: PVOID,
    );

    // Receive buffers (pools at PASSIVE_LEVEL; NBLs and MDLs at <= DISPATCH_LEVEL).
    pub fn NdisAllocateNetBufferListPool(
        NdisHandle: NDIS_HANDLE,
        Parameters: *const NET_BUFFER_LIST_POOL_PARAMETERS,
    ) -> NDIS_HANDLE;
    pub fn NdisFreeNetBufferListPool(PoolHandle: NDIS_HANDLE);
    pub fn NdisAllocateNetBufferAndNetBufferList(
        PoolHandle: NDIS_HANDLE,
        ContextSize: USHORT,
        ContextBackFill: USHORT,
        MdlChain: PMDL,
        DataOffset: ULONG,
        DataLength: SIZE_T,
    ) -> PNET_BUFFER_LIST;
    pub fn NdisFreeNetBufferList(NetBufferList: PNET_BUFFER_LIST);
    pub fn NdisAllocateMdl(NdisHandle: NDIS_HANDLE, VirtualAddress: PVOID, Length: UINT) -> PMDL;
    pub fn NdisFreeMdl(Mdl: PMDL);
    /// Wait at PASSIVE_LEVEL (halt waiting for lent receive NBLs, rule 78).
    pub fn NdisMSleep(MicrosecondsToSleep: ULONG);
    // The ordinary (non-offload) receive path, IRQL <= DISPATCH_LEVEL.
    pub fn NdisMIndicateReceiveNetBufferLists(
        MiniportAdapterHandle: NDIS_HANDLE,
        NetBufferLists: PNET_BUFFER_LIST,
        PortNumber: NDIS_PORT_NUMBER,
        NumberOfNetBufferLists: ULONG,
        ReceiveFlags: ULONG,
    );

    pub fn NdisMOffloadEventIndicate(
        NdisMiniportHandle: NDIS_HANDLE,
        OffloadBlockList: PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
        IndicationCode: ULONG,
    );
}

#[cfg_attr(
    target_os = "windows",
    link(name = "ntoskrnl", kind = "static", modifiers = "-bundle")
)]
unsafe extern "system" {
    // ntoskrnl.exe: the NIC clock (any IRQL).
    pub fn KeQueryPerformanceCounter(PerformanceFrequency: *mut i64) -> i64;
    // Map an MDL's locked pages into system space (what the
    // MmGetSystemAddressForMdlSafe macro calls when the MDL is not mapped yet).
    // IRQL <= DISPATCH_LEVEL; NULL on failure (BugCheckOnFailure = 0).
    pub fn MmMapLockedPagesSpecifyCache(
        MemoryDescriptorList: PMDL,
        AccessMode: i8,
        CacheType: i32,
        RequestedAddress: PVOID,
        BugCheckOnFailure: ULONG,
        Priority: ULONG,
    ) -> PVOID;
}
