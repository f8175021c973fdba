//! The request a use case is serving, for its audit entries and logs: set by whoever starts the
//! work (the gateway's telemetry middleware for an HTTP request).

tokio::task_local! {
    /// The id of the request being served.
    pub static REQUEST_ID: String;
}

/// The id of the request being served, if any.
pub fn id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}
