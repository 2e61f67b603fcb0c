//! Adapter configuration (the registry keys the INF writes):
//! `NdisOpenConfigurationEx`, `NdisReadConfiguration`, `NdisCloseConfiguration`.

use super::check_irql_max;
use super::memory::sim_alloc;
use crate::state::{self, Kind, lock, report};
use crate::verifier::Violation;
use chimney_miniport::ffi::{
    NDIS_CONFIGURATION_PARAMETER, NDIS_HANDLE, NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT,
    NDIS_PARAMETER_TYPE, NDIS_STATUS, NDIS_STATUS_FAILURE, NDIS_STATUS_INVALID_PARAMETER,
    NDIS_STATUS_RESOURCES, NDIS_STATUS_SUCCESS, NdisParameterInteger, PASSIVE_LEVEL,
    PNDIS_CONFIGURATION_OBJECT, PNDIS_CONFIGURATION_PARAMETER, PNDIS_HANDLE, PNDIS_STATUS,
    PNDIS_STRING,
};

/// A registry value as the simulator stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigValue {
    Integer(u32),
}

/// An open configuration handle: the parameters handed out stay valid until close.
pub struct ConfigHandle {
    params: Vec<Box<NDIS_CONFIGURATION_PARAMETER>>,
}

/// `NdisOpenConfigurationEx` (ndis.sys). PASSIVE_LEVEL.
///
/// # Safety
/// NDIS contract: valid object and out pointer.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn NdisOpenConfigurationEx(
    ConfigObject: PNDIS_CONFIGURATION_OBJECT,
    ConfigurationHandle: PNDIS_HANDLE,
) -> NDIS_STATUS {
    check_irql_max("NdisOpenConfigurationEx", PASSIVE_LEVEL);
    if ConfigObject.is_null() || ConfigurationHandle.is_null() {
        report(Violation::BadArgument {
            export: "NdisOpenConfigurationEx",
            detail: "NULL argument".into(),
        });
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: checked non-NULL; the driver passes its configuration object.
    let obj = unsafe { &*ConfigObject };
    if obj.Header.Type != NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT {
        report(Violation::BadArgument {
            export: "NdisOpenConfigurationEx",
            detail: format!("header type {:#x}", obj.Header.Type),
        });
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    let Some(sim) = state::lookup(obj.NdisHandle as usize, &Kind::AdapterHandle) else {
        report(Violation::BadHandle {
            export: "NdisOpenConfigurationEx",
            handle: obj.NdisHandle as usize,
        });
        return NDIS_STATUS_INVALID_PARAMETER;
    };
    sim.record_call("NdisOpenConfigurationEx");
    // The handle is a small pool object, so its allocation can be failed too.
    let p = sim_alloc(&sim, 16, Kind::Config);
    if p.is_null() {
        return NDIS_STATUS_RESOURCES;
    }
    let h = Box::into_raw(Box::new(ConfigHandle { params: Vec::new() }));
    // SAFETY: `p` is 16 bytes of fresh pool memory; we keep our record pointer in it.
    unsafe {
        p.cast::<*mut ConfigHandle>().write(h);
        *ConfigurationHandle = p;
    }
    NDIS_STATUS_SUCCESS
}

fn wide_to_string(s: PNDIS_STRING) -> Option<String> {
    if s.is_null() {
        return None;
    }
    // SAFETY: the driver passes a valid NDIS_STRING whose Buffer holds Length bytes.
    unsafe {
        let s = &*s;
        if s.Buffer.is_null() {
            return None;
        }
        let chars = std::slice::from_raw_parts(s.Buffer, usize::from(s.Length) / 2);
        String::from_utf16(chars).ok()
    }
}

/// `NdisReadConfiguration` (ndis.sys). PASSIVE_LEVEL.
///
/// # Safety
/// NDIS contract: valid out pointers, keyword and open handle.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn NdisReadConfiguration(
    Status: PNDIS_STATUS,
    ParameterValue: *mut PNDIS_CONFIGURATION_PARAMETER,
    ConfigurationHandle: NDIS_HANDLE,
    Keyword: PNDIS_STRING,
    ParameterType: NDIS_PARAMETER_TYPE,
) {
    check_irql_max("NdisReadConfiguration", PASSIVE_LEVEL);
    if Status.is_null() || ParameterValue.is_null() {
        report(Violation::BadArgument {
            export: "NdisReadConfiguration",
            detail: "NULL out pointer".into(),
        });
        return;
    }
    let fail = |st| {
        // SAFETY: checked non-NULL above.
        unsafe {
            *Status = st;
            *ParameterValue = std::ptr::null_mut();
        }
    };
    let Some(sim) = state::lookup(ConfigurationHandle as usize, &Kind::Config) else {
        report(Violation::BadHandle {
            export: "NdisReadConfiguration",
            handle: ConfigurationHandle as usize,
        });
        return fail(NDIS_STATUS_INVALID_PARAMETER);
    };
    let Some(name) = wide_to_string(Keyword) else {
        return fail(NDIS_STATUS_INVALID_PARAMETER);
    };
    // Registry keywords are case-insensitive.
    let value = lock(&sim.config)
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&name))
        .map(|(_, v)| v.clone());
    let Some(ConfigValue::Integer(v)) = value else {
        return fail(NDIS_STATUS_FAILURE);
    };
    if ParameterType != NdisParameterInteger
        && ParameterType != chimney_miniport::ffi::NdisParameterHexInteger
    {
        return fail(NDIS_STATUS_FAILURE);
    }
    // SAFETY: a zeroed parameter is valid plain data; we set the integer member.
    let mut param: Box<NDIS_CONFIGURATION_PARAMETER> = Box::new(unsafe { std::mem::zeroed() });
    param.ParameterType = NdisParameterInteger;
    param.ParameterData.IntegerData = v;
    let ptr: PNDIS_CONFIGURATION_PARAMETER = &mut *param;
    // SAFETY: registered Config handles hold a pointer to our ConfigHandle record.
    unsafe {
        let rec = ConfigurationHandle.cast::<*mut ConfigHandle>().read();
        (*rec).params.push(param);
        *ParameterValue = ptr;
        *Status = NDIS_STATUS_SUCCESS;
    }
}

/// `NdisCloseConfiguration` (ndis.sys).
#[unsafe(no_mangle)]
pub extern "system" fn NdisCloseConfiguration(ConfigurationHandle: NDIS_HANDLE) {
    check_irql_max("NdisCloseConfiguration", PASSIVE_LEVEL);
    let Some(entry) = state::unregister(ConfigurationHandle as usize) else {
        report(Violation::BadHandle {
            export: "NdisCloseConfiguration",
            handle: ConfigurationHandle as usize,
        });
        return;
    };
    // SAFETY: a registered Config handle holds our record pointer.
    unsafe {
        let rec = ConfigurationHandle.cast::<*mut ConfigHandle>().read();
        drop(Box::from_raw(rec));
    }
    state::register(
        ConfigurationHandle as usize,
        Kind::Memory { tag: 0, len: 16 },
        &entry.sim,
    );
    super::memory::sim_free(ConfigurationHandle);
}
