//! The names of everything shipfn keeps on a NATS server (streams, subjects,
//! consumer, bucket), derived from one namespace: deployments or teams with
//! their own namespaces share a server without seeing each other's work
//! (and permissions can be given per namespace).

use std::fmt;

/// A namespace: 1 to 32 characters of `a-z`, `0-9`, `-` and `_`, starting
/// with a letter, so that every name derived from it is a valid subject
/// token, stream, consumer and bucket name, and two namespaces never derive
/// the same name. The default, `shipfn`, gives the names of shipfn before
/// namespaces: `SHIPFN_TASKS`, `shipfn.tasks.<job>`, `shipfn-workers`, …
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    name: String,
    tasks: String,
    task_prefix: String,
    results: String,
    result_prefix: String,
    workers: String,
}

impl Namespace {
    /// The namespace `name`, or why it is not one.
    pub fn new(name: &str) -> Result<Namespace, String> {
        let valid = (1..=32).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !valid {
            return Err(format!(
                "`{name}` is not a namespace: use 1 to 32 of a-z, 0-9, - and _, starting with a letter"
            ));
        }
        let upper = name.to_ascii_uppercase();
        Ok(Namespace {
            name: name.to_owned(),
            tasks: format!("{upper}_TASKS"),
            task_prefix: format!("{name}.tasks."),
            results: format!("{upper}_RESULTS"),
            result_prefix: format!("{name}.results."),
            workers: format!("{name}-workers"),
        })
    }

    /// The namespace's own name, which is also its object store bucket.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The work-queue stream of tasks (`SHIPFN_TASKS`).
    pub fn tasks(&self) -> &str {
        &self.tasks
    }

    /// What a task subject starts with, before the job id (`shipfn.tasks.`).
    pub fn task_prefix(&self) -> &str {
        &self.task_prefix
    }

    /// The stream of results (`SHIPFN_RESULTS`).
    pub fn results(&self) -> &str {
        &self.results
    }

    /// What a result subject starts with, before the job id (`shipfn.results.`).
    pub fn result_prefix(&self) -> &str {
        &self.result_prefix
    }

    /// The durable consumer the workers share (`shipfn-workers`).
    pub fn workers(&self) -> &str {
        &self.workers
    }

    /// The object store bucket of modules and packages (`shipfn`).
    pub fn bucket(&self) -> &str {
        &self.name
    }
}

impl Default for Namespace {
    fn default() -> Namespace {
        Namespace::new("shipfn").expect("the default namespace is valid")
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl std::str::FromStr for Namespace {
    type Err = String;

    fn from_str(name: &str) -> Result<Namespace, String> {
        Namespace::new(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_namespace_keeps_the_names_and_others_derive_their_own() {
        let default = Namespace::default();
        assert_eq!(
            [default.tasks(), default.task_prefix(), default.results(), default.workers(), default.bucket()],
            ["SHIPFN_TASKS", "shipfn.tasks.", "SHIPFN_RESULTS", "shipfn-workers", "shipfn"]
        );
        let team = Namespace::new("team-a_2").unwrap();
        assert_eq!([team.tasks(), team.result_prefix()], ["TEAM-A_2_TASKS", "team-a_2.results."]);
        for bad in ["", "A", "a.b", "a>", "a b", "1a", "a*", &"a".repeat(33)] {
            assert!(Namespace::new(bad).is_err(), "{bad:?}");
        }
    }
}
