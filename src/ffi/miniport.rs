//! PLACEHOLDER (being written): miniport characteristics and attributes.
