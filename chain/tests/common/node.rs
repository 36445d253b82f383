//! A devnet node serving the JSON-RPC over HTTP on 127.0.0.1, in process:
//! what the Ethereum RPC tests (eth_rpc.rs, eth_viem.rs) talk to.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrite_chain::auth::ApiAuth;
use ferrite_chain::devnet::Devnet;
use ferrite_chain::eth::keccak;
use ferrite_chain::eth::tx::EthTx;
use ferrite_chain::metrics::Metrics;
use ferrite_chain::rpc::server::{LotusMethods, RpcState, router};
use ferrite_chain::wallet::{PrivateKey, Wallet};
use fvm_shared::econ::TokenAmount;
use serde_json::{Value, json};
use tokio::sync::{oneshot, watch};

use super::Actors;

/// The block time the node reports, and its producer's when one runs.
pub const BLOCK_TIME: Duration = Duration::from_millis(300);

/// A devnet and its RPC server; `owner` holds 1000 FIL at genesis.
pub struct Node {
    /// The `/rpc/v1` endpoint.
    pub url: String,
    pub http: reqwest::Client,
    pub devnet: Arc<Devnet>,
    heads: Arc<watch::Sender<i64>>,
    metrics: Metrics,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<()>,
}

/// A block producer running in the background ([`Node::produce_every`]).
pub struct Producer {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Producer {
    /// Stops it, after the block it may be producing.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        self.task.await.unwrap();
    }
}

impl Node {
    pub async fn start(dir: &Path, actors: Actors, owner: &PrivateKey) -> Node {
        super::net::init_proofs();
        let accounts = vec![(owner.address().unwrap(), TokenAmount::from_whole(1000))];
        let settings = super::net::settings("eth-rpc", accounts);
        let path = dir.to_path_buf();
        let devnet = Arc::new(
            tokio::task::spawn_blocking(move || super::net::open_in(&path, settings, actors))
                .await
                .unwrap(),
        );
        let registry = prometheus::Registry::new();
        let metrics = Metrics::register(&registry).unwrap();
        let heads = Arc::new(watch::channel(devnet.head().height()).0);
        let state = Arc::new(RpcState {
            chain: Some(LotusMethods {
                devnet: devnet.clone(),
                wallet: Arc::new(Mutex::new(Wallet::open(&dir.join("keystore")).unwrap())),
                default_address: owner.address().unwrap(),
                heads: heads.clone(),
                block_time: BLOCK_TIME,
            }),
            auth: ApiAuth::load_or_create(&dir.join("keystore")).unwrap(),
            metrics: metrics.clone(),
            registry,
            extension: None,
            ready: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(async move {
            axum::serve(listener, router(state))
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap()
        });
        Node {
            url: format!("http://{addr}/rpc/v1"),
            http: reqwest::Client::new(),
            devnet,
            heads,
            metrics,
            stop: Some(stop),
            served,
        }
    }

    /// Produces a block every [`BLOCK_TIME`], as the node's producer does,
    /// until [`Producer::stop`]: for clients that wait for blocks on their own.
    pub fn produce_every(&self) -> Producer {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(ferrite_chain::producer::run(
            self.devnet.clone(),
            BLOCK_TIME,
            self.heads.clone(),
            self.metrics.clone(),
            stopped,
        ));
        Producer { stop, task }
    }

    /// Stops the server and waits until the devnet is released.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.served.await.unwrap();
        let weak = Arc::downgrade(&self.devnet);
        drop(self.devnet);
        // A closed websocket's task lets go of the server's state just after
        // its socket ends.
        let since = std::time::Instant::now();
        while weak.strong_count() > 0 && since.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(weak.strong_count(), 0, "the devnet is still held");
    }

    pub async fn rpc(&self, method: &str, params: Value) -> Result<Value, Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let r: Value = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match r.get("error") {
            Some(e) => Err(e.clone()),
            None => Ok(r["result"].clone()),
        }
    }

    pub async fn ok(&self, method: &str, params: Value) -> Value {
        self.rpc(method, params)
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// Produces `n` blocks and publishes the head, as the block producer
    /// does (the websocket's subscriptions follow it).
    pub async fn produce(&self, n: usize) {
        super::produce_blocks(&self.devnet, n).await;
        self.heads.send_replace(self.devnet.head().height());
    }

    /// Sends a raw transaction; its hash.
    pub async fn send(&self, tx: &EthTx) -> Result<String, Value> {
        let raw = format!("0x{}", hex::encode(tx.signed_rlp()));
        let r = self.rpc("eth_sendRawTransaction", json!([raw])).await;
        if let Ok(h) = &r {
            assert_eq!(
                h,
                &json!(format!("0x{}", hex::encode(keccak(&tx.signed_rlp()))))
            );
        }
        r.map(|v| v.as_str().unwrap().to_string())
    }

    /// Produces blocks until the receipt of `hash` appears.
    pub async fn receipt(&self, hash: &str) -> Value {
        for _ in 0..5 {
            let r = self.ok("eth_getTransactionReceipt", json!([hash])).await;
            if !r.is_null() {
                return r;
            }
            self.produce(1).await;
        }
        panic!("no receipt for {hash}");
    }
}
