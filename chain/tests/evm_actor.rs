//! Issue 17, the foundation: a Solidity contract deployed through the EAM
//! and run by our EVM actor (revm), compared with the official v18 EVM
//! actor.
//!
//! On each bundle (Ferrite's, and the official v18 `devnet` bundle when
//! `FERRITE_REFERENCE_BUNDLE` names it) an f1 account deploys
//! `fixtures/evm/Store.sol` (compiled by `fixtures/evm/compile.mjs` with a
//! pinned solcjs; `npm run check` there says whether `Store.json` is
//! current) with the EAM's `CreateExternal`, then:
//!
//! - calls `store(1234)` with `InvokeContract`: storage written, an event
//!   `Stored(caller, 42, 1234)` emitted (keys t1..t3 and d);
//! - reads slot 0 and the mapping's slot with `GetStorageAt` (an implicit
//!   call from f00, as `eth_getStorageAt` makes it), and again from an
//!   account (refused);
//! - calls `get()` read-only, as `eth_call` does;
//! - calls `store(2000000)`, which reverts with the custom error
//!   `TooLarge(2000000, 1000000)`: exit code 33, the revert data returned,
//!   storage unchanged;
//! - asks `GetBytecode` and `GetBytecodeHash`;
//! - deploys `fixtures/evm/Factory.sol`, which deploys a Store with CREATE2
//!   (the address checked), calls it (`Stored` is emitted by the child with
//!   the factory as the caller) and sends FIL on to an f1 account (the
//!   balance checked).
//!
//! Every answer is checked against what the contract must do (decoded with
//! the v18 types of `fil_actor_evm_state`, keccak computed here), and the
//! two bundles' runs are compared: exit codes, return data, events, the
//! contract's state (the bytecode CID, the storage KAMT's root CID, the
//! nonce) and the deployed address. Gas is printed for both.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

mod common;

use cid::Cid;
use common::{Actors, bundles};
use fil_actor_evm_state::evm_shared::v18::uints::U256;
use fil_actor_evm_state::v18 as evm;
use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_encoding::{BytesDe, BytesSer, CborStore, RawBytes};
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::error::ExitCode;
use sha3::Digest;

/// The EAM (f010) and its CreateExternal method.
const EAM: u64 = 10;
const CREATE_EXTERNAL: u64 = 4;

/// The EAM's return value (v18).
#[derive(Debug, PartialEq, fvm_ipld_encoding::tuple::Deserialize_tuple)]
struct EamReturn {
    actor_id: u64,
    robust_address: Option<Address>,
    eth_address: evm_address::EthAddress,
}

mod evm_address {
    pub use fil_actor_evm_state::evm_shared::v18::address::EthAddress;
}

fn keccak(data: &[u8]) -> [u8; 32] {
    sha3::Keccak256::digest(data).into()
}

fn selector(sig: &str) -> [u8; 4] {
    keccak(sig.as_bytes())[..4].try_into().unwrap()
}

fn word(n: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&n.to_be_bytes());
    w
}

fn calldata(sig: &str, args: &[[u8; 32]]) -> Vec<u8> {
    let mut v = selector(sig).to_vec();
    for a in args {
        v.extend_from_slice(a);
    }
    v
}

/// The init code and runtime code of contract `name`, from the
/// `<name>.json` that compile.mjs wrote.
fn compiled(name: &str) -> (Vec<u8>, Vec<u8>) {
    let path = format!(
        "{}/tests/fixtures/evm/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let hex_of = |k: &str| hex::decode(json[k].as_str().unwrap()).unwrap();
    (hex_of("initcode"), hex_of("runtime"))
}

/// An event's entries as `(key, codec, value)`.
type Entries = Vec<(String, u64, Vec<u8>)>;

/// What one step gave: exit code, return data and the events (emitter and
/// entries).
#[derive(Debug, Clone, PartialEq)]
struct Step {
    exit: ExitCode,
    ret: Vec<u8>,
    events: Vec<(u64, Entries)>,
    gas: u64,
}

/// Everything a run observed, for the comparison of the bundles.
#[derive(Debug)]
struct Run {
    deployed: EamReturn,
    steps: Vec<(&'static str, Step)>,
    state: evm::State,
}

fn step_of(ret: &fvm::executor::ApplyRet) -> Step {
    Step {
        exit: ret.msg_receipt.exit_code,
        ret: ret.msg_receipt.return_data.to_vec(),
        events: ret
            .events
            .iter()
            .map(|e| {
                let entries = e
                    .event
                    .entries
                    .iter()
                    .map(|x| (x.key.clone(), x.codec, x.value.clone()))
                    .collect();
                (e.emitter, entries)
            })
            .collect(),
        gas: ret.msg_receipt.gas_used,
    }
}

struct Chain {
    net: common::net::Net,
}

impl Chain {
    /// Executes a message from the owner in a block; its result, replayed
    /// for the events.
    fn exec(&self, to: Address, method: u64, params: RawBytes) -> Step {
        self.exec_value(to, method, params, TokenAmount::default())
    }

    /// Like [`Chain::exec`], with `value` sent along.
    fn exec_value(&self, to: Address, method: u64, params: RawBytes, value: TokenAmount) -> Step {
        let owner = &self.net.owner;
        let msg = common::net::message(owner.address().unwrap(), to, method, params, value);
        let dn = &self.net.dn;
        let cid = dn.push_next(msg, owner).unwrap().cid().unwrap();
        dn.produce_block().unwrap();
        dn.produce_block().unwrap();
        let found = dn.search(&cid).unwrap().expect("message executed");
        let (_, ret) = dn.replay(&cid).unwrap();
        assert_eq!(ret.msg_receipt, found.receipt, "replay gives the receipt");
        step_of(&ret)
    }

    /// Runs a message on the head's state without keeping it, from `from`
    /// (f00 makes it an implicit call, as Lotus's `eth_getStorageAt`).
    fn call(&self, from: Address, to: Address, method: u64, params: RawBytes) -> Step {
        let sequence = if from == Address::new_id(0) {
            0
        } else {
            self.net.dn.next_nonce(&from).unwrap()
        };
        let mut msg = common::net::message(from, to, method, params, TokenAmount::default());
        msg.sequence = sequence;
        step_of(&self.net.dn.call(msg, &[]).unwrap())
    }
}

fn invoke_params(data: &[u8]) -> RawBytes {
    RawBytes::serialize(BytesSer(data)).unwrap()
}

fn storage_params(slot: [u8; 32]) -> RawBytes {
    RawBytes::serialize(evm::GetStorageAtParams {
        storage_key: U256::from_big_endian(&slot),
    })
    .unwrap()
}

fn decode_bytes(ret: &[u8]) -> Vec<u8> {
    let BytesDe(v) = fvm_ipld_encoding::from_slice(ret).unwrap();
    v
}

fn run(actors: Actors) -> Run {
    let chain = Chain {
        net: common::net::Net::open(actors, "evm-actor"),
    };
    let (initcode, runtime) = compiled("Store");
    let owner = chain.net.owner.address().unwrap();
    let owner_id = chain.net.dn.lookup_id(&owner, &[]).unwrap().unwrap();
    let mut steps = Vec::new();

    // Deploy from an f1 account: the address is CREATE's from the hash of
    // the key address, with the message's nonce.
    let nonce = chain.net.dn.next_nonce(&owner).unwrap();
    let deploy = chain.exec(
        Address::new_id(EAM),
        CREATE_EXTERNAL,
        RawBytes::serialize(BytesSer(&initcode)).unwrap(),
    );
    assert_eq!(deploy.exit, ExitCode::OK, "{actors:?}: deploy: {deploy:?}");
    let deployed: EamReturn = fvm_ipld_encoding::from_slice(&deploy.ret).unwrap();
    let stable = &keccak(&owner.to_bytes())[12..];
    let mut rlp = vec![0xd6, 0x94];
    rlp.extend_from_slice(stable);
    rlp.push(if nonce == 0 { 0x80 } else { nonce as u8 });
    assert!(nonce < 0x80);
    assert_eq!(
        deployed.eth_address.0[..],
        keccak(&rlp)[12..],
        "{actors:?}: the CREATE address"
    );
    steps.push(("deploy", deploy));
    let contract = Address::new_delegated(EAM, &deployed.eth_address.0).unwrap();
    let contract_id = chain.net.dn.lookup_id(&contract, &[]).unwrap().unwrap();
    assert_eq!(contract_id, Address::new_id(deployed.actor_id));

    // The constructor ran (value = 7) and kept the runtime code.
    let read_slot = |slot: [u8; 32]| {
        let s = chain.call(
            Address::new_id(0),
            contract,
            evm::Method::GetStorageAt as u64,
            storage_params(slot),
        );
        assert_eq!(s.exit, ExitCode::OK, "{actors:?}: GetStorageAt: {s:?}");
        let v: U256 = fvm_ipld_encoding::from_slice(&s.ret).unwrap();
        (v, s)
    };
    let (v, s) = read_slot(word(0));
    assert_eq!(v, U256::from(7u64), "{actors:?}: the constructor's value");
    steps.push(("storage after deploy", s));

    // store(1234): storage and an event.
    let store = chain.exec(
        contract,
        evm::Method::InvokeContract as u64,
        invoke_params(&calldata("store(uint256)", &[word(1234)])),
    );
    assert_eq!(store.exit, ExitCode::OK, "{actors:?}: store: {store:?}");
    assert_eq!(decode_bytes(&store.ret), Vec::<u8>::new());
    let caller_word = {
        // An f1 account has no Ethereum address: its ID form stands for it.
        let mut w = [0u8; 32];
        w[12] = 0xff;
        w[24..].copy_from_slice(&owner_id.id().unwrap().to_be_bytes());
        w
    };
    let raw = fvm_ipld_encoding::IPLD_RAW;
    assert_eq!(
        store.events,
        vec![(
            deployed.actor_id,
            vec![
                (
                    "t1".to_string(),
                    raw,
                    keccak(b"Stored(address,uint256,uint256)").to_vec()
                ),
                ("t2".to_string(), raw, caller_word.to_vec()),
                ("t3".to_string(), raw, word(42).to_vec()),
                ("d".to_string(), raw, word(1234).to_vec()),
            ]
        )],
        "{actors:?}: the Stored event"
    );
    steps.push(("store(1234)", store));

    let (v, s) = read_slot(word(0));
    assert_eq!(v, U256::from(1234u64), "{actors:?}: slot 0 after store");
    steps.push(("slot 0", s));
    let mapping_slot = keccak(&[caller_word, word(1)].concat());
    let (v, s) = read_slot(mapping_slot);
    assert_eq!(v, U256::from(1234u64), "{actors:?}: byCaller[owner]");
    steps.push(("byCaller slot", s));

    // Only the system may read storage slots.
    let refused = chain.call(
        owner,
        contract,
        evm::Method::GetStorageAt as u64,
        storage_params(word(0)),
    );
    assert_eq!(refused.exit, ExitCode::USR_FORBIDDEN, "{actors:?}");
    steps.push(("GetStorageAt from an account", refused));

    // get(), as eth_call runs it.
    let get = chain.call(
        owner,
        contract,
        evm::Method::InvokeContract as u64,
        invoke_params(&calldata("get()", &[])),
    );
    assert_eq!(get.exit, ExitCode::OK, "{actors:?}: get: {get:?}");
    assert_eq!(decode_bytes(&get.ret), word(1234).to_vec(), "{actors:?}");
    steps.push(("get()", get));

    // A revert with a custom error: its data comes back, nothing changes.
    let state_before = chain.net.dn.actor(&contract, &[]).unwrap().unwrap().state;
    let revert = chain.exec(
        contract,
        evm::Method::InvokeContract as u64,
        invoke_params(&calldata("store(uint256)", &[word(2_000_000)])),
    );
    assert_eq!(
        revert.exit,
        evm::EVM_CONTRACT_REVERTED,
        "{actors:?}: {revert:?}"
    );
    assert_eq!(
        decode_bytes(&revert.ret),
        calldata(
            "TooLarge(uint256,uint256)",
            &[word(2_000_000), word(1_000_000)]
        ),
        "{actors:?}: the revert data"
    );
    assert!(revert.events.is_empty());
    let state_after = chain.net.dn.actor(&contract, &[]).unwrap().unwrap().state;
    assert_eq!(
        state_before, state_after,
        "{actors:?}: a revert changes nothing"
    );
    steps.push(("store(2000000) reverts", revert));

    // The bytecode and its hash.
    let code = chain.call(
        owner,
        contract,
        evm::Method::GetBytecode as u64,
        RawBytes::default(),
    );
    assert_eq!(code.exit, ExitCode::OK);
    let code_cid: Option<Cid> = fvm_ipld_encoding::from_slice(&code.ret).unwrap();
    let code_cid = code_cid.expect("a live contract has code");
    let stored = chain.net.dn.blockstore().get(&code_cid).unwrap().unwrap();
    assert_eq!(stored, runtime, "{actors:?}: the runtime code");
    assert_eq!(code_cid.codec(), fvm_ipld_encoding::IPLD_RAW);
    steps.push(("GetBytecode", code));
    let hash = chain.call(
        owner,
        contract,
        evm::Method::GetBytecodeHash as u64,
        RawBytes::default(),
    );
    assert_eq!(hash.exit, ExitCode::OK);
    let BytesDe(h) = fvm_ipld_encoding::from_slice(&hash.ret).unwrap();
    assert_eq!(
        h,
        keccak(&runtime).to_vec(),
        "{actors:?}: the bytecode hash"
    );
    steps.push(("GetBytecodeHash", hash));

    // A contract that deploys another with CREATE2, calls it, and pays an
    // f1 account.
    let (factory_code, _) = compiled("Factory");
    let deploy = chain.exec(
        Address::new_id(EAM),
        CREATE_EXTERNAL,
        RawBytes::serialize(BytesSer(&factory_code)).unwrap(),
    );
    assert_eq!(
        deploy.exit,
        ExitCode::OK,
        "{actors:?}: deploy the factory: {deploy:?}"
    );
    let factory: EamReturn = fvm_ipld_encoding::from_slice(&deploy.ret).unwrap();
    steps.push(("deploy the factory", deploy));
    let factory_addr = Address::new_delegated(EAM, &factory.eth_address.0).unwrap();
    let salt = keccak(b"ferrite");
    let create2 = chain.exec(
        factory_addr,
        evm::Method::InvokeContract as u64,
        invoke_params(&calldata("deploy(bytes32)", &[salt])),
    );
    assert_eq!(
        create2.exit,
        ExitCode::OK,
        "{actors:?}: CREATE2: {create2:?}"
    );
    let expected = keccak(
        &[
            &[0xff][..],
            &factory.eth_address.0,
            &salt,
            &keccak(&initcode),
        ]
        .concat(),
    );
    let child_word = decode_bytes(&create2.ret);
    assert_eq!(child_word[..12], [0u8; 12]);
    assert_eq!(
        child_word[12..],
        expected[12..],
        "{actors:?}: the CREATE2 address"
    );
    steps.push(("deploy(salt): CREATE2", create2));
    let child = Address::new_delegated(EAM, &expected[12..]).unwrap();
    let s = chain.call(
        Address::new_id(0),
        child,
        evm::Method::GetStorageAt as u64,
        storage_params(word(0)),
    );
    let v: U256 = fvm_ipld_encoding::from_slice(&s.ret).unwrap();
    assert_eq!(
        v,
        U256::from(7u64),
        "{actors:?}: the child's constructor ran"
    );

    let mut child_arg = [0u8; 32];
    child_arg.copy_from_slice(&child_word);
    let store_in = chain.exec(
        factory_addr,
        evm::Method::InvokeContract as u64,
        invoke_params(&calldata(
            "storeIn(address,uint256)",
            &[child_arg, word(99)],
        )),
    );
    assert_eq!(
        store_in.exit,
        ExitCode::OK,
        "{actors:?}: storeIn: {store_in:?}"
    );
    assert_eq!(decode_bytes(&store_in.ret), word(99).to_vec());
    let child_id = chain
        .net
        .dn
        .lookup_id(&child, &[])
        .unwrap()
        .unwrap()
        .id()
        .unwrap();
    let mut factory_word = [0u8; 32];
    factory_word[12..].copy_from_slice(&factory.eth_address.0);
    assert_eq!(
        store_in.events,
        vec![(
            child_id,
            vec![
                (
                    "t1".to_string(),
                    raw,
                    keccak(b"Stored(address,uint256,uint256)").to_vec()
                ),
                ("t2".to_string(), raw, factory_word.to_vec()),
                ("t3".to_string(), raw, word(42).to_vec()),
                ("d".to_string(), raw, word(99).to_vec()),
            ]
        )],
        "{actors:?}: the child's event, with the factory as the caller"
    );
    steps.push(("storeIn(child, 99): a call between contracts", store_in));

    let worker = chain.net.worker.address().unwrap();
    let worker_id = chain
        .net
        .dn
        .lookup_id(&worker, &[])
        .unwrap()
        .unwrap()
        .id()
        .unwrap();
    let mut worker_word = [0u8; 32];
    worker_word[12] = 0xff;
    worker_word[24..].copy_from_slice(&worker_id.to_be_bytes());
    let before = chain.net.dn.actor(&worker, &[]).unwrap().unwrap().balance;
    let pay = chain.exec_value(
        factory_addr,
        evm::Method::InvokeContract as u64,
        invoke_params(&calldata("pay(address)", &[worker_word])),
        TokenAmount::from_atto(1_000),
    );
    assert_eq!(pay.exit, ExitCode::OK, "{actors:?}: pay: {pay:?}");
    assert_eq!(
        decode_bytes(&pay.ret),
        word(1).to_vec(),
        "{actors:?}: pay succeeded"
    );
    let after = chain.net.dn.actor(&worker, &[]).unwrap().unwrap().balance;
    assert_eq!(
        after - before,
        TokenAmount::from_atto(1_000),
        "{actors:?}: FIL to an f1 account"
    );
    steps.push(("pay(worker): FIL to an f1 account", pay));

    // The state, decoded with the v18 types.
    let head = chain.net.dn.actor(&contract, &[]).unwrap().unwrap();
    let state: evm::State = chain
        .net
        .dn
        .blockstore()
        .get_cbor(&head.state)
        .unwrap()
        .unwrap();
    assert_eq!(state.bytecode, code_cid);
    assert_eq!(state.bytecode_hash.as_slice(), keccak(&runtime));
    assert!(state.tombstone.is_none());
    Run {
        deployed,
        steps,
        state,
    }
}

#[test]
fn a_solidity_contract_runs_as_on_the_official_evm_actor() {
    let runs: Vec<(Actors, Run)> = bundles().into_iter().map(|a| (a, run(a))).collect();
    for (actors, r) in &runs {
        for (name, s) in &r.steps {
            println!("{actors:?} {name}: exit {} gas {}", s.exit.value(), s.gas);
        }
    }
    let [(_, ours), (_, official)] = &runs[..] else {
        return;
    };
    assert_eq!(ours.deployed, official.deployed, "the deployment");
    assert_eq!(ours.steps.len(), official.steps.len());
    for ((name, a), (_, b)) in ours.steps.iter().zip(&official.steps) {
        assert_eq!(
            (a.exit, &a.ret, &a.events),
            (b.exit, &b.ret, &b.events),
            "{name}: ours against the official actor's"
        );
    }
    let (a, b) = (&ours.state, &official.state);
    assert_eq!(a.bytecode, b.bytecode, "bytecode CID");
    assert_eq!(a.bytecode_hash, b.bytecode_hash, "bytecode hash");
    assert_eq!(a.contract_state, b.contract_state, "storage KAMT root");
    assert_eq!(a.nonce, b.nonce, "nonce");
    assert_eq!(a.transient_data, b.transient_data, "transient data");
    assert_eq!(a.tombstone, b.tombstone, "tombstone");
}
