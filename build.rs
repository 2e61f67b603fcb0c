//! Build script: on a Windows host building for Windows, hand over to wdk-build
//! (WDK paths, kernel linker flags) and link ndis.lib. On any other host it does
//! nothing, so the same crate builds and tests on Linux.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    #[cfg(windows)]
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        wdk_build::configure_wdk_binary_build().expect("WDK configuration");
        println!("cargo::rustc-link-lib=static:-bundle=ndis");
    }
}
