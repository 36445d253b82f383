//! Issue 17, parts 3 and 4: Ethereum transactions through the Ethereum
//! JSON-RPC on `/rpc/v1`, against an in-process devnet on each bundle
//! (Ferrite's, and the official v18 one when `FERRITE_REFERENCE_BUNDLE`
//! names it).
//!
//! An f1 account funds an Ethereum account (its f410 address becomes a
//! placeholder); the test signs EIP-1559 transactions with that account's
//! secp256k1 key and, through `eth_sendRawTransaction`, deploys
//! `fixtures/evm/Store.sol` (the first message turns the placeholder into
//! an Ethereum account), calls `store(1234)` with the gas limit
//! `eth_estimateGas` gave, and `store(77)` with a legacy EIP-155
//! transaction. It checks the receipts (status, contract address
//! by CREATE's rule, gas used within the estimate, the `Stored` log with its
//! topics, data and hashes, `eth_getLogs` finding it, and `eth_subscribe`'s
//! `newHeads` and `logs` on the websocket sending the block and the log), the code, storage through `eth_call` and
//! `eth_getStorageAt`, the nonce and balance, the block, fee history and
//! address helpers, and then the refusals: wrong chain id, bad signature,
//! nonce too low, fee cap under the base fee, oversize, malformed RLP, each
//! a JSON-RPC error with the pool unchanged. A block reads the same by hash
//! as by number (and a block parameter may name it by hash, EIP-1898).
//! Finally the node is restarted on the same database, and the transaction,
//! receipt and block by hash read the same.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

mod common;

use std::time::{Duration, Instant};

use common::Actors;
use common::node::Node;
use ferrite_chain::eth::tx::{EthTx, TxKind};
use ferrite_chain::eth::{EthAddress, keccak};
use fvm_shared::econ::TokenAmount;
use serde_json::{Value, json};

const CHAIN_ID: u64 = 31415926;

/// A websocket client of `/rpc/v1`: calls, and `eth_subscription`
/// notifications.
struct Subscriber {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next_id: u64,
    /// Notifications that came while a call waited for its answer.
    early: std::collections::VecDeque<Value>,
}

impl Subscriber {
    async fn connect(url: &str) -> Self {
        let ws_url = url.replacen("http://", "ws://", 1);
        let (socket, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
        Self {
            socket,
            next_id: 1,
            early: Default::default(),
        }
    }

    async fn recv(&mut self) -> Value {
        use futures_util::StreamExt;
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(30), self.socket.next())
                .await
                .expect("a websocket message within 30 s")
                .expect("the socket is open")
                .unwrap();
            if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
                return serde_json::from_str(&t).unwrap();
            }
        }
    }

    async fn call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        use futures_util::SinkExt;
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.socket
            .send(tokio_tungstenite::tungstenite::Message::Text(
                body.to_string().into(),
            ))
            .await
            .unwrap();
        loop {
            let v = self.recv().await;
            if v["id"] == json!(id) {
                return match v.get("error") {
                    Some(e) => Err(e.clone()),
                    None => Ok(v["result"].clone()),
                };
            }
            self.early.push_back(v);
        }
    }

    /// Closes the socket and waits for the server's end of it.
    async fn close(mut self) {
        use futures_util::StreamExt;
        self.socket.close(None).await.unwrap();
        while let Some(Ok(_)) = self.socket.next().await {}
    }

    /// The next `eth_subscription` notification: (subscription, result).
    async fn notification(&mut self) -> (Value, Value) {
        loop {
            let v = match self.early.pop_front() {
                Some(v) => v,
                None => self.recv().await,
            };
            if v["method"] == json!("eth_subscription") {
                return (
                    v["params"]["subscription"].clone(),
                    v["params"]["result"].clone(),
                );
            }
        }
    }
}

fn compiled(name: &str) -> (Vec<u8>, Vec<u8>) {
    let path = format!(
        "{}/tests/fixtures/evm/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let json: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let hex_of = |k: &str| hex::decode(json[k].as_str().unwrap()).unwrap();
    (hex_of("initcode"), hex_of("runtime"))
}

fn word(n: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&n.to_be_bytes());
    w
}

fn hexw(n: u64) -> String {
    format!("0x{}", hex::encode(word(n)))
}

fn store_call(v: u64) -> Vec<u8> {
    [&keccak(b"store(uint256)")[..4], &word(v)[..]].concat()
}

fn tx(nonce: u64, to: Option<EthAddress>, input: Vec<u8>, gas: u64) -> EthTx {
    EthTx {
        kind: TxKind::Eip1559,
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: TokenAmount::from_atto(1000),
        max_priority_fee_per_gas: TokenAmount::from_atto(200),
        to,
        value: TokenAmount::default(),
        input,
        r: [0; 32],
        s: [0; 32],
        v: 0,
    }
}

async fn scenario(actors: Actors) {
    let dir = tempfile::tempdir().unwrap();
    let owner = common::net::owner_key();
    let key = k256::ecdsa::SigningKey::from_bytes(&[9u8; 32].into()).unwrap();
    let me = EthAddress::from_public_key(key.verifying_key().to_encoded_point(false).as_bytes())
        .unwrap();
    let node = Node::start(dir.path(), actors, &owner).await;
    node.produce(1).await;

    // Chain identity and the address helpers.
    assert_eq!(node.ok("eth_chainId", json!([])).await, json!("0x1df5e76"));
    assert_eq!(node.ok("net_version", json!([])).await, json!("31415926"));
    assert_eq!(
        node.ok("Filecoin.EthChainId", json!([])).await,
        json!("0x1df5e76")
    );
    let f410 = node
        .ok("Filecoin.EthAddressToFilecoinAddress", json!([me.to_hex()]))
        .await;
    assert!(f410.as_str().unwrap()[1..].starts_with("410f"), "{f410}");
    assert_eq!(
        node.ok("Filecoin.FilecoinAddressToEthAddress", json!([f410]))
            .await,
        json!(me.to_hex())
    );
    assert_eq!(
        node.ok("Filecoin.FilecoinAddressToEthAddress", json!(["f01234"]))
            .await,
        json!("0xff000000000000000000000000000000000004d2")
    );

    // Fund the Ethereum account: a placeholder at its f410 address.
    let fund = common::net::message(
        owner.address().unwrap(),
        me.to_filecoin(),
        0,
        Default::default(),
        TokenAmount::from_whole(10),
    );
    node.devnet.push_next(fund, &owner).unwrap();
    node.produce(2).await;
    let balance = node
        .ok("eth_getBalance", json!([me.to_hex(), "latest"]))
        .await;
    assert_eq!(balance, json!("0x8ac7230489e80000"), "10 FIL");
    assert_eq!(
        node.ok("eth_getTransactionCount", json!([me.to_hex(), "latest"]))
            .await,
        json!("0x0")
    );

    // Deploy Store with an EIP-1559 creation.
    let (initcode, runtime) = compiled("Store");
    // Estimated from the placeholder, which the FVM turns into an Ethereum
    // account as the message runs (the EAM takes CreateExternal only from one).
    let create = json!({"from": me.to_hex(), "data": format!("0x{}", hex::encode(&initcode))});
    let deploy_estimate = node.ok("eth_estimateGas", json!([create])).await;
    let deploy_estimate = u64::from_str_radix(&deploy_estimate.as_str().unwrap()[2..], 16).unwrap();
    let deploy = tx(0, None, initcode, deploy_estimate).sign(&key).unwrap();
    let hash = node.send(&deploy).await.unwrap();
    let pending = node.ok("eth_getTransactionByHash", json!([hash])).await;
    assert_eq!(pending["blockHash"], Value::Null, "{pending}");
    assert_eq!(pending["from"], json!(me.to_hex()));
    let receipt = node.receipt(&hash).await;
    assert_eq!(receipt["status"], json!("0x1"), "{receipt}");
    assert_eq!(receipt["to"], Value::Null);
    // CREATE's address: keccak(rlp([sender, 0]))[12..].
    let created = {
        let rlp = [&[0xd6, 0x94][..], &me.0[..], &[0x80][..]].concat();
        EthAddress(keccak(&rlp)[12..].try_into().unwrap())
    };
    assert_eq!(receipt["contractAddress"], json!(created.to_hex()));
    let used = u64::from_str_radix(&receipt["gasUsed"].as_str().unwrap()[2..], 16).unwrap();
    assert!(
        used <= deploy_estimate,
        "gas used {used} > estimate {deploy_estimate}"
    );
    // StateReplay's ExecutionTrace, as Lotus builds it: the EAM's
    // CreateExternal called the init actor's Exec4, which constructed the
    // new EVM actor; every call has its gas charges, which add up to the
    // gas used.
    let hash_bytes: [u8; 32] = hex::decode(&hash[2..]).unwrap().try_into().unwrap();
    let cid = node.devnet.eth_tx_cid(&hash_bytes).unwrap().unwrap();
    let replayed = node
        .ok("Filecoin.StateReplay", json!([[], {"/": cid.to_string()}]))
        .await;
    let trace = &replayed["ExecutionTrace"];
    let shape = |t: &Value| {
        (
            t["Msg"]["To"].as_str().unwrap().to_string(),
            t["Msg"]["Method"].as_u64().unwrap(),
            t["MsgRct"]["ExitCode"].as_i64().unwrap(),
        )
    };
    assert_eq!(shape(trace), ("f010".to_string(), 4, 0), "{trace}");
    let exec = &trace["Subcalls"][0];
    assert_eq!(shape(exec), ("f01".to_string(), 3, 0), "{trace}");
    assert_eq!(exec["Msg"]["From"], "f010");
    let constructor = &exec["Subcalls"][0];
    assert_eq!(constructor["Msg"]["Method"], 1, "{trace}");
    assert_eq!(constructor["MsgRct"]["ExitCode"], 0);
    let new_id = constructor["InvokedActor"]["Id"].as_u64().unwrap();
    assert_eq!(
        constructor["InvokedActor"]["State"]["DelegatedAddress"],
        json!(created.to_filecoin().to_string()),
        "{constructor}"
    );
    assert_eq!(constructor["Msg"]["To"], json!(format!("f0{new_id}")));
    fn charges(t: &Value, n: &mut u64) -> u64 {
        let own: u64 = t["GasCharges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                *n += 1;
                c["tg"].as_u64().unwrap()
            })
            .sum();
        own + t["Subcalls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| charges(s, n))
            .sum::<u64>()
    }
    let mut count = 0;
    let charged = charges(trace, &mut count);
    let gas_used: u64 = replayed["MsgRct"]["GasUsed"].as_u64().unwrap();
    assert_eq!(gas_used, used);
    // Each charge is rounded up to whole gas.
    assert!(
        (gas_used..=gas_used + count).contains(&charged),
        "the charges add up to {charged}, the receipt says {gas_used}"
    );
    let included = node.ok("eth_getTransactionByHash", json!([hash])).await;
    assert_eq!(included["blockHash"], receipt["blockHash"]);
    assert_eq!(included["blockNumber"], receipt["blockNumber"]);
    assert_eq!(
        included["input"],
        json!(format!("0x{}", hex::encode(&deploy.input)))
    );
    let block = node
        .ok(
            "eth_getBlockByNumber",
            json!([receipt["blockNumber"], false]),
        )
        .await;
    assert_eq!(block["hash"], receipt["blockHash"]);
    assert_eq!(block["transactions"], json!([hash]));
    // As Lotus: a full logs bloom, and a zero transactions root for a block
    // with transactions, the empty trie's root for one without.
    let full_bloom = json!(format!("0x{}", "ff".repeat(256)));
    assert_eq!(block["logsBloom"], full_bloom);
    assert_eq!(block["transactionsRoot"], json!(hexw(0)));
    let empty = node.ok("eth_getBlockByNumber", json!(["0x1", false])).await;
    assert_eq!(empty["transactions"], json!([]), "{empty}");
    assert_eq!(
        empty["transactionsRoot"],
        json!("0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
    );
    assert_eq!(empty["logsBloom"], full_bloom);
    let full = node
        .ok(
            "eth_getBlockByNumber",
            json!([receipt["blockNumber"], true]),
        )
        .await;
    assert_eq!(full["transactions"][0], included, "{full}");
    let head = node.devnet.head().height();
    assert_eq!(
        node.ok("eth_blockNumber", json!([])).await,
        json!(format!("{:#x}", head - 1))
    );
    assert_eq!(
        node.ok("eth_gasPrice", json!([])).await,
        json!("0x18704"),
        "base fee 100 + 100000"
    );

    // Code and storage: the constructor stored 7 in slot 0.
    assert_eq!(
        node.ok("eth_getCode", json!([created.to_hex(), "latest"]))
            .await,
        json!(format!("0x{}", hex::encode(&runtime)))
    );
    assert_eq!(
        node.ok("eth_getCode", json!([me.to_hex(), "latest"])).await,
        json!("0x")
    );
    assert_eq!(
        node.ok(
            "eth_getStorageAt",
            json!([created.to_hex(), "0x0", "latest"])
        )
        .await,
        json!(hexw(7))
    );
    let get = format!("0x{}", hex::encode(&keccak(b"get()")[..4]));
    let call = json!({"from": me.to_hex(), "to": created.to_hex(), "data": get});
    assert_eq!(
        node.ok("eth_call", json!([call, "latest"])).await,
        json!(hexw(7))
    );

    // store(1234) with the estimated gas limit.
    let call_store = json!({"from": me.to_hex(), "to": created.to_hex(),
        "data": format!("0x{}", hex::encode(store_call(1234)))});
    let estimate = node.ok("eth_estimateGas", json!([call_store])).await;
    let estimate = u64::from_str_radix(&estimate.as_str().unwrap()[2..], 16).unwrap();
    let store = tx(1, Some(created), store_call(1234), estimate)
        .sign(&key)
        .unwrap();
    // Subscriptions on the websocket, before the transaction.
    let stored = format!(
        "0x{}",
        hex::encode(keccak(b"Stored(address,uint256,uint256)"))
    );
    let mut ws = Subscriber::connect(&node.url).await;
    let heads_sub = ws.call("eth_subscribe", json!(["newHeads"])).await.unwrap();
    let logs_sub = ws
        .call(
            "eth_subscribe",
            json!(["logs", {"address": created.to_hex(), "topics": [stored]}]),
        )
        .await
        .unwrap();
    let other_sub = ws
        .call(
            "eth_subscribe",
            json!(["logs", {"topics": [null, null, hexw(43)]}]),
        )
        .await
        .unwrap();
    assert_ne!(heads_sub, logs_sub);
    let refused = ws
        .call("eth_subscribe", json!(["newPendingTransactions"]))
        .await
        .unwrap_err();
    assert_eq!(refused["code"], json!(-32602), "{refused}");
    let refused = ws
        .call("eth_subscribe", json!(["logs", {"address": "0x1234"}]))
        .await
        .unwrap_err();
    assert_eq!(refused["code"], json!(-32602), "{refused}");

    let hash = node.send(&store).await.unwrap();
    let receipt = node.receipt(&hash).await;
    assert_eq!(receipt["status"], json!("0x1"), "{receipt}");
    let used = u64::from_str_radix(&receipt["gasUsed"].as_str().unwrap()[2..], 16).unwrap();
    assert!(used <= estimate, "gas used {used} > estimate {estimate}");
    let logs = receipt["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 1, "{receipt}");
    // The subscriptions saw the block and its log, as the RPC reads them;
    // the filter that matches nothing sent nothing.
    let (mut header, mut log) = (None, None);
    while header.is_none() || log.is_none() {
        let (sub, result) = ws.notification().await;
        assert_ne!(sub, other_sub, "{result}");
        if sub == heads_sub && result["number"] == receipt["blockNumber"] {
            header = Some(result);
        } else if sub == logs_sub {
            log = Some(result);
        }
    }
    let header = header.unwrap();
    assert_eq!(header["hash"], receipt["blockHash"]);
    assert_eq!(
        header,
        node.ok(
            "eth_getBlockByNumber",
            json!([receipt["blockNumber"], false])
        )
        .await
    );
    assert_eq!(log.unwrap(), logs[0]);
    assert_eq!(
        ws.call("eth_unsubscribe", json!([logs_sub])).await,
        Ok(json!(true))
    );
    assert_eq!(
        ws.call("eth_unsubscribe", json!([logs_sub])).await,
        Ok(json!(false))
    );
    ws.close().await;
    let mut who = [0u8; 32];
    who[12..].copy_from_slice(&me.0);
    assert_eq!(logs[0]["address"], json!(created.to_hex()));
    assert_eq!(
        logs[0]["topics"],
        json!([
            format!(
                "0x{}",
                hex::encode(keccak(b"Stored(address,uint256,uint256)"))
            ),
            format!("0x{}", hex::encode(who)),
            hexw(42),
        ])
    );
    assert_eq!(logs[0]["data"], json!(hexw(1234)));
    assert_eq!(logs[0]["transactionHash"], json!(hash));
    assert_eq!(logs[0]["blockHash"], receipt["blockHash"]);
    assert_ne!(
        receipt["logsBloom"],
        json!(format!("0x{}", "00".repeat(256)))
    );
    // eth_getLogs finds the same log by address and topics, and only it.
    let filter = json!({"fromBlock": "0x0", "toBlock": "latest", "address": [created.to_hex()],
        "topics": [stored, null, hexw(42)]});
    assert_eq!(
        node.ok("eth_getLogs", json!([filter])).await,
        json!([logs[0]])
    );
    let other = json!({"fromBlock": "0x0", "topics": [null, null, hexw(43)]});
    assert_eq!(node.ok("eth_getLogs", json!([other])).await, json!([]));
    assert_eq!(
        node.ok(
            "eth_getStorageAt",
            json!([created.to_hex(), "0x0", "latest"])
        )
        .await,
        json!(hexw(1234))
    );
    assert_eq!(
        node.ok("eth_call", json!([call, "latest"])).await,
        json!(hexw(1234))
    );
    assert_eq!(
        node.ok("eth_getTransactionCount", json!([me.to_hex(), "latest"]))
            .await,
        json!("0x2")
    );
    // A revert: code 3 with the custom error's data.
    let too_large = json!({"from": me.to_hex(), "to": created.to_hex(),
        "data": format!("0x{}", hex::encode(store_call(2_000_000)))});
    let err = node
        .rpc("eth_call", json!([too_large, "latest"]))
        .await
        .unwrap_err();
    assert_eq!(err["code"], json!(3), "{err}");
    let selector = hex::encode(&keccak(b"TooLarge(uint256,uint256)")[..4]);
    assert!(
        err["data"]
            .as_str()
            .unwrap()
            .starts_with(&format!("0x{selector}")),
        "{err}"
    );

    // A legacy EIP-155 transaction: store(77), gas price 1000.
    let mut legacy = tx(2, Some(created), store_call(77), estimate);
    legacy.kind = TxKind::Legacy155;
    legacy.max_priority_fee_per_gas = legacy.max_fee_per_gas.clone();
    let legacy = legacy.sign(&key).unwrap();
    assert!(matches!(legacy.v - (2 * u128::from(CHAIN_ID) + 35), 0 | 1));
    let legacy_hash = node.send(&legacy).await.unwrap();
    let receipt = node.receipt(&legacy_hash).await;
    assert_eq!(
        (&receipt["status"], &receipt["type"]),
        (&json!("0x1"), &json!("0x0")),
        "{receipt}"
    );
    let shown = node
        .ok("eth_getTransactionByHash", json!([legacy_hash]))
        .await;
    assert_eq!(shown["gasPrice"], json!("0x3e8"), "{shown}");
    assert_eq!(shown["v"], json!(format!("{:#x}", legacy.v)));
    assert_eq!(
        node.ok(
            "eth_getStorageAt",
            json!([created.to_hex(), "0x0", "latest"])
        )
        .await,
        json!(hexw(77))
    );

    // Fees.
    let history = node
        .ok("eth_feeHistory", json!(["0x3", "latest", [50]]))
        .await;
    assert_eq!(
        history["baseFeePerGas"].as_array().unwrap().len(),
        4,
        "{history}"
    );
    assert_eq!(history["gasUsedRatio"].as_array().unwrap().len(), 3);
    assert_eq!(
        node.ok("eth_maxPriorityFeePerGas", json!([])).await,
        json!("0x186a0")
    );

    // Refusals: each an error, the pool unchanged, the node still answering.
    let before = node.devnet.pending_count();
    let mut wrong_chain = tx(3, Some(created), vec![], 100_000_000);
    wrong_chain.chain_id = 1;
    let mut bad_sig = tx(3, Some(created), vec![], 100_000_000)
        .sign(&key)
        .unwrap();
    bad_sig.r = [0xff; 32];
    let mut cheap = tx(3, Some(created), vec![], 100_000_000);
    cheap.max_fee_per_gas = TokenAmount::from_atto(50);
    cheap.max_priority_fee_per_gas = TokenAmount::from_atto(50);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "wrong chain id",
            raw(&wrong_chain.sign(&key).unwrap()),
            "invalid chain id 1",
        ),
        ("bad signature", raw(&bad_sig), "invalid signature"),
        (
            "nonce too low",
            raw(&tx(0, Some(created), vec![], 100_000_000)
                .sign(&key)
                .unwrap()),
            "nonce 0 too low",
        ),
        (
            "fee cap under base fee",
            raw(&cheap.sign(&key).unwrap()),
            "below the base fee",
        ),
        (
            "oversize",
            raw(&tx(3, None, vec![0x60; 70_000], 100_000_000)
                .sign(&key)
                .unwrap()),
            "exceeds the limit",
        ),
        ("malformed RLP", "0x02c3010203".to_string(), "malformed"),
        ("not hex", "0xzz".to_string(), "raw transaction"),
    ];
    for (what, raw, want) in cases {
        let err = node
            .rpc("eth_sendRawTransaction", json!([raw]))
            .await
            .expect_err(what);
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(want), "{what}: {err}");
        assert_eq!(
            node.devnet.pending_count(),
            before,
            "{what}: the pool changed"
        );
    }
    assert_eq!(node.ok("eth_chainId", json!([])).await, json!("0x1df5e76"));

    // A restart: the same hashes, the same answers.
    let tx_before = node.ok("eth_getTransactionByHash", json!([hash])).await;
    let receipt_before = node.ok("eth_getTransactionReceipt", json!([hash])).await;
    // The block by its hash: the block by number, with or without the
    // transactions; an unknown hash is null.
    let by_hash = node
        .ok(
            "eth_getBlockByHash",
            json!([receipt_before["blockHash"], true]),
        )
        .await;
    assert_eq!(
        by_hash,
        node.ok(
            "eth_getBlockByNumber",
            json!([receipt_before["blockNumber"], true])
        )
        .await
    );
    assert_eq!(by_hash["transactions"][0]["hash"], json!(hash));
    assert_eq!(
        node.ok(
            "Filecoin.EthGetBlockByHash",
            json!([receipt_before["blockHash"], false])
        )
        .await["transactions"],
        json!([hash])
    );
    assert_eq!(
        node.ok("eth_getBlockByHash", json!([hexw(12345), false]))
            .await,
        Value::Null
    );
    // EIP-1898: a block parameter by hash reads that block's state.
    assert_eq!(
        node.ok(
            "eth_getStorageAt",
            json!([created.to_hex(), "0x0", {"blockHash": receipt_before["blockHash"]}])
        )
        .await,
        json!(hexw(1234)),
        "store(1234)'s block, before store(77)"
    );
    node.stop().await;
    let node = Node::start(dir.path(), actors, &owner).await;
    assert_eq!(
        node.ok(
            "eth_getBlockByHash",
            json!([receipt_before["blockHash"], true])
        )
        .await,
        by_hash,
        "the block by hash after a restart"
    );
    assert_eq!(
        node.ok("eth_getTransactionByHash", json!([hash])).await,
        tx_before
    );
    assert_eq!(
        node.ok("eth_getTransactionReceipt", json!([hash])).await,
        receipt_before
    );
    node.stop().await;
}

fn raw(tx: &EthTx) -> String {
    format!("0x{}", hex::encode(tx.signed_rlp()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ethereum_transactions_through_the_rpc() {
    for actors in common::bundles() {
        let t = Instant::now();
        scenario(actors).await;
        println!("{actors:?}: {:.1} s", t.elapsed().as_secs_f64());
    }
}
