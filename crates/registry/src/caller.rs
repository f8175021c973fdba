//! Who is calling, as their verified token says. The gateway makes one from a token; a batch or a
//! sync run acts for the caller that started it.

/// Who is calling, as their verified token says.
#[derive(Debug, Clone)]
pub struct Caller {
    pub client_id: String,
    pub jti: Option<String>,
    pub scopes: Vec<String>,
    /// `None`: every state. Otherwise the LGD codes of the states this caller may see and change.
    pub states: Option<Vec<String>>,
    /// Why the caller asks: decides which fields it sees.
    pub purpose: String,
}

impl Caller {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    pub fn may_see_state(&self, state_code: &str) -> bool {
        self.states
            .as_ref()
            .is_none_or(|s| s.iter().any(|c| c == state_code))
    }
}
