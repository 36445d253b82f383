//! The scheduler's settings, `[cluster.scheduler]` in ferrite.toml.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ClusterError;
use crate::resources::ResourceTable;
use crate::task::TaskKind;

/// `[cluster.scheduler]` in ferrite.toml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulerConfig {
    /// RAM, cores and GPU per task kind and sector size; entries given here
    /// replace single default entries. Default: Lotus's resource table.
    pub resources: ResourceTable,
    /// The most tasks of a kind running at once in the whole cluster, e.g.
    /// `{ pc1 = 4 }`, to bound how many sectors are in flight. Kinds not
    /// listed are limited only by the workers' resources. Default: none.
    pub max_running: BTreeMap<TaskKind, usize>,
    /// Seconds without a heartbeat after which a worker is dropped and its
    /// running tasks go back to the queue. Workers beat every few seconds, so
    /// this tolerates a few lost beats. Default: 30.
    pub heartbeat_timeout_secs: u64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            resources: ResourceTable::default(),
            max_running: BTreeMap::new(),
            heartbeat_timeout_secs: 30,
        }
    }
}

impl SchedulerConfig {
    /// Checks what serde cannot: a zero heartbeat timeout would expire every
    /// worker at once.
    pub fn validate(&self) -> Result<(), ClusterError> {
        if self.heartbeat_timeout_secs == 0 {
            return Err(ClusterError::Config(
                "cluster.scheduler.heartbeat_timeout_secs must be at least 1".to_string(),
            ));
        }
        Ok(())
    }

    /// [`SchedulerConfig::heartbeat_timeout_secs`] as a duration.
    pub fn heartbeat_timeout(&self) -> Duration {
        Duration::from_secs(self.heartbeat_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_a_zero_timeout_is_not() {
        assert!(SchedulerConfig::default().validate().is_ok());
        let zero = SchedulerConfig {
            heartbeat_timeout_secs: 0,
            ..SchedulerConfig::default()
        };
        assert!(matches!(zero.validate(), Err(ClusterError::Config(_))));
    }
}
