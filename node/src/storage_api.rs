//! The node's storage paths: the ferrite-cluster `StorageRegistry` in
//! `<home>/storage/db`, shared with the sealing pipeline (which reserves
//! each task's space there), and its operator methods on the JSON-RPC API
//! (`Ferrite.Storage*`), which `ferrite storage ...` calls.
//!
//! On the first start (no `<home>/storage/db` yet) the pipeline's own sector
//! directory, `<home>/sealing/sectors`, is attached as a seal path, so a node
//! seals where it always did until the operator attaches others; it is an
//! ordinary path from then on (`storage list` marks it, and it can be
//! detached).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use ferrite_chain::auth::Permission;
use ferrite_chain::rpc::server::RpcExtension;
use ferrite_cluster::{AttachPath, ClusterError, PathId, PathKind, PathStat, StorageRegistry};
use ferrite_store::{RocksDb, RocksOptions, Store};
use serde_json::{Value, json};
use tracing::info;

/// `Ferrite.StorageAttach [path, kind, weight, max_size_bytes|null]`:
/// attach a directory (`kind` is "seal", "store" or "both").
pub const ATTACH: &str = "Ferrite.StorageAttach";
/// `Ferrite.StorageDetach [id]`: detach a path; its files stay.
pub const DETACH: &str = "Ferrite.StorageDetach";
/// `Ferrite.StorageList []`: every path with its space and reservations.
pub const LIST: &str = "Ferrite.StorageList";

/// Lotus's default weight of a storage path.
pub const DEFAULT_WEIGHT: u64 = 10;

/// The pipeline's own sector directory, attached at the first start.
pub fn default_seal_dir(home: &Path) -> PathBuf {
    home.join("sealing").join("sectors")
}

/// Opens the registry in `<home>/storage/db`; on the first start, attaches
/// [`default_seal_dir`] as a seal path.
pub fn open(home: &Path) -> anyhow::Result<Arc<StorageRegistry>> {
    let db_dir = home.join("storage").join("db");
    let first_start = !db_dir.exists();
    let db = RocksDb::open(
        &db_dir,
        &ferrite_cluster::storage::TABLES,
        RocksOptions::default(),
    )
    .context("open the storage database")?;
    let registry = StorageRegistry::new(Store::new(db).context("open the storage store")?);
    if first_start {
        let dir = default_seal_dir(home);
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        let path = registry
            .attach(AttachPath {
                path: dir,
                kind: PathKind::Seal,
                weight: DEFAULT_WEIGHT,
                max_size: None,
            })
            .context("attach the default seal path")?;
        info!(id = %path.id, path = %path.path.display(), "attached the default seal path");
    }
    Ok(Arc::new(registry))
}

/// The `Ferrite.Storage*` methods over a registry.
pub struct StorageApi {
    registry: Arc<StorageRegistry>,
    /// [`default_seal_dir`], canonicalized, to mark it in the list.
    default_dir: Option<PathBuf>,
}

impl StorageApi {
    /// The methods of `registry`, on the node whose home is `home`.
    pub fn new(registry: Arc<StorageRegistry>, home: &Path) -> Self {
        Self {
            registry,
            default_dir: std::fs::canonicalize(default_seal_dir(home)).ok(),
        }
    }

    /// Runs a registry call off the runtime (it does disk and database I/O).
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&StorageRegistry) -> Result<T, ClusterError> + Send + 'static,
    ) -> Result<T, (i64, String)> {
        let registry = Arc::clone(&self.registry);
        tokio::task::spawn_blocking(move || f(&registry))
            .await
            .map_err(|e| (1, format!("storage task: {e}")))?
            .map_err(api_err)
    }

    fn path_json(&self, stat: &PathStat) -> Value {
        let p = &stat.path;
        let mut v = json!({
            "ID": p.id.0,
            "Path": p.path,
            "Kind": p.kind.to_string(),
            "Weight": p.weight,
            "MaxSize": p.max_size,
            "Reserved": stat.reserved,
            "Default": self.default_dir.as_deref() == Some(p.path.as_path()),
        });
        match &stat.space {
            Ok(space) => {
                // With a max size, its capacity is the cap and its use the
                // files under it; otherwise both are the filesystem's.
                let (capacity, used) = match (p.max_size, space.used) {
                    (Some(max), Some(used)) => (max, used),
                    _ => (
                        space.capacity,
                        space.capacity.saturating_sub(space.available),
                    ),
                };
                v["Capacity"] = json!(capacity);
                v["Used"] = json!(used);
                v["Available"] = json!(space.free);
                v["FsCapacity"] = json!(space.capacity);
                v["FsAvailable"] = json!(space.available);
            }
            Err(e) => v["Error"] = json!(e),
        }
        v
    }
}

fn api_err(e: ClusterError) -> (i64, String) {
    let code = match e {
        ClusterError::UnknownPath(_) => 3,
        ClusterError::PathMissing(_)
        | ClusterError::NotADirectory(_)
        | ClusterError::NotWritable { .. }
        | ClusterError::AlreadyAttached { .. } => -32602,
        _ => 1,
    };
    (code, e.to_string())
}

fn arg<T: serde::de::DeserializeOwned>(
    params: &[Value],
    i: usize,
    what: &str,
) -> Result<T, (i64, String)> {
    let v = params.get(i).cloned().unwrap_or(Value::Null);
    serde_json::from_value(v).map_err(|e| (-32602, format!("bad {what}: {e}")))
}

fn parse_kind(kind: &str) -> Result<PathKind, (i64, String)> {
    match kind {
        "seal" => Ok(PathKind::Seal),
        "store" => Ok(PathKind::Store),
        "both" | "seal+store" => Ok(PathKind::Both),
        other => Err((-32602, format!("bad kind {other:?}: seal, store or both"))),
    }
}

#[async_trait::async_trait]
impl RpcExtension for StorageApi {
    fn permission(&self, method: &str) -> Option<Permission> {
        Some(match method {
            LIST => Permission::Read,
            ATTACH | DETACH => Permission::Admin,
            _ => return None,
        })
    }

    async fn call(&self, method: &str, params: Vec<Value>) -> Result<Value, (i64, String)> {
        match method {
            ATTACH => {
                let path: PathBuf = arg(&params, 0, "path")?;
                let kind: String = arg(&params, 1, "kind")?;
                let weight: Option<u64> = arg(&params, 2, "weight")?;
                let max_size: Option<u64> = arg(&params, 3, "max size")?;
                if !path.is_absolute() {
                    return Err((
                        -32602,
                        format!("storage path {} is not absolute", path.display()),
                    ));
                }
                let req = AttachPath {
                    path,
                    kind: parse_kind(&kind)?,
                    weight: weight.unwrap_or(DEFAULT_WEIGHT),
                    max_size,
                };
                let p = self.blocking(move |r| r.attach(req)).await?;
                info!(id = %p.id, path = %p.path.display(), kind = %p.kind, "attached a storage path");
                Ok(json!({"ID": p.id.0, "Path": p.path, "Kind": p.kind.to_string()}))
            }
            DETACH => {
                let id = PathId(arg(&params, 0, "path id")?);
                let p = self.blocking(move |r| r.detach(id)).await?;
                info!(id = %p.id, path = %p.path.display(), "detached a storage path");
                Ok(json!({"ID": p.id.0, "Path": p.path}))
            }
            LIST => {
                let all = self.blocking(|r| r.list()).await?;
                Ok(all.iter().map(|s| self.path_json(s)).collect())
            }
            _ => Err((-32601, format!("method '{method}' not found"))),
        }
    }
}
