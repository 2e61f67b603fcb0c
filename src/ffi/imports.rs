//! PLACEHOLDER: extern "system" imports.
