//! Memos of what is derived from a user agent: the robot check at the redirect
//! ([`crate::tracking::robots::classify`]) and the visitor families in the flusher
//! ([`crate::tracking::visitor::UserAgentFacts::of`]). A shopper's browser sends the same user
//! agent on every click, so each is judged once rather than once per click; each memo is
//! bounded, so random user agents from an attacker cost derivation time, never memory beyond
//! [`UA_CACHE_CAPACITY`] entries of at most [`MAX_USER_AGENT`] bytes each.

use crate::domain::MAX_USER_AGENT;
use crate::tracking::visitor::UA_CACHE_CAPACITY;

/// One derivation's memo, keyed by the user agent.
pub(crate) struct AgentMemo<V>(quick_cache::sync::Cache<String, V>);

impl<V: Clone> AgentMemo<V> {
    /// An empty memo of [`UA_CACHE_CAPACITY`] entries.
    pub(crate) fn new() -> Self {
        Self(quick_cache::sync::Cache::new(UA_CACHE_CAPACITY))
    }

    /// `derive(user_agent)`, from the memo when this user agent was seen lately. One longer
    /// than [`MAX_USER_AGENT`] bytes is derived every time and never kept.
    pub(crate) fn get_or(&self, user_agent: &str, derive: impl FnOnce(&str) -> V) -> V {
        if user_agent.len() > MAX_USER_AGENT {
            return derive(user_agent);
        }
        if let Some(value) = self.0.get(user_agent) {
            return value;
        }
        let value = derive(user_agent);
        self.0.insert(user_agent.to_owned(), value.clone());
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_user_agent_is_derived_once_and_answered_from_the_memo_after() {
        let memo = AgentMemo::new();
        let derived = Cell::new(0);
        let derive = |ua: &str| {
            derived.set(derived.get() + 1);
            ua.len()
        };
        assert_eq!(memo.get_or("Mozilla/5.0 (iPhone)", derive), 20);
        assert_eq!(memo.get_or("Mozilla/5.0 (iPhone)", derive), 20);
        assert_eq!(derived.get(), 1);
        assert_eq!(memo.get_or("curl/8.5.0", derive), 10);
        assert_eq!(derived.get(), 2);
    }

    #[test]
    fn a_user_agent_longer_than_a_click_keeps_is_derived_every_time_and_never_kept() {
        let memo = AgentMemo::new();
        let derived = Cell::new(0);
        let long = "a".repeat(MAX_USER_AGENT + 1);
        for _ in 0..3 {
            memo.get_or(&long, |ua| {
                derived.set(derived.get() + 1);
                ua.len()
            });
        }
        assert_eq!(derived.get(), 3);
        assert!(memo.0.is_empty());
        let longest = "a".repeat(MAX_USER_AGENT);
        memo.get_or(&longest, str::len);
        assert_eq!(memo.0.len(), 1);
    }

    #[test]
    fn a_full_memo_stays_within_its_capacity() {
        let memo = AgentMemo::new();
        for n in 0..UA_CACHE_CAPACITY * 3 {
            memo.get_or(&format!("agent {n}"), str::len);
        }
        assert!(
            memo.0.len() <= UA_CACHE_CAPACITY,
            "{} entries",
            memo.0.len()
        );
    }
}
