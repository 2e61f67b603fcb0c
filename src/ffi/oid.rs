//! PLACEHOLDER (being written): NDIS_OID_REQUEST and OIDs.
