//! Issue 12, point 3: every actor answers a method it does not have, and a
//! parameter block that is not CBOR, exactly as builtin-actors v18 does.
//!
//! For each bundle (Ferrite's, and the official v18 `devnet` bundle when
//! `FERRITE_REFERENCE_BUNDLE` names it) a devnet is opened, a miner is
//! created through the power actor, a placeholder by sending funds to a
//! fresh f410 address, and a multisig and a payment channel through init's
//! `Exec`; then every actor there is sent three probes, each carrying a
//! little value:
//!
//! - an unknown FRC-42 exported method ([`UNKNOWN_EXPORTED`]),
//! - an unknown internal method ([`UNKNOWN_INTERNAL`]),
//! - a method the actor has that takes parameters, with a parameter block
//!   that is not CBOR ([`MALFORMED`]); the placeholder, which has no
//!   methods, gets it on method 2.
//!
//! The exit codes make one table per bundle. The official one must equal
//! [`V18`], the table recorded from the official bundle, and Ferrite's must
//! equal it too, except for the rows in [`NOT_ON_FERRITE`] and the cells in
//! [`DIFFERENCES`]; so without the reference bundle Ferrite's answers are
//! still checked against v18's. A refused probe must leave the target's
//! balance and (for the actors that cron does not touch) its state as they
//! were; an accepted one must deliver its value.
//!
//! Actors that are out: the multisig and the payment channel on Ferrite's
//! bundle (see [`NOT_ON_FERRITE`]); the EVM, on both, not probed here yet
//! (tests/evm_actor.rs compares its methods with v18's); the Ethereum
//! account, on both, because it
//! comes into being only when a placeholder sends its first message, signed
//! by an Ethereum key, which the devnet's message pool does not take.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

mod common;

use std::time::Instant;

use cid::Cid;
use common::{Actors, bundles};
use ferrite_chain::devnet::Devnet;
use ferrite_chain::genesis::{
    DATACAP_ACTOR, EAM_ACTOR, MARKET_ACTOR, POWER_ACTOR, REWARD_ACTOR, VERIFREG_ACTOR,
};
use ferrite_chain::wallet::PrivateKey;
use fil_actor_power_state::v18 as power;
use fvm_ipld_encoding::RawBytes;
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::error::ExitCode;
use fvm_shared::message::Message;
use fvm_shared::receipt::Receipt;
use fvm_shared::sector::RegisteredPoStProof;

/// An FRC-42 number (at least 2^24) that is no actor's method.
const UNKNOWN_EXPORTED: u64 = 0xFEED_BEEF;
/// A number below the exported range that is no actor's method.
const UNKNOWN_INTERNAL: u64 = 999;
/// A parameter block that is not CBOR: a break code outside any container.
const MALFORMED: [u8; 2] = [0xff, 0x00];
/// The value each probe carries, in attoFIL: it must come back on refusal.
const PROBE_VALUE: u64 = 1_000;

/// The three probes, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    UnknownExported,
    UnknownInternal,
    MalformedParams,
}

const PROBES: [Probe; 3] = [
    Probe::UnknownExported,
    Probe::UnknownInternal,
    Probe::MalformedParams,
];

/// One actor's exit codes, in [`PROBES`] order; `None` for a probe that was
/// not sent.
type Codes = [Option<u32>; 3];

/// builtin-actors v18's answers, recorded from the official bundle's run
/// (0 OK, 16 USR_ILLEGAL_ARGUMENT, 21 USR_SERIALIZATION, 22
/// USR_UNHANDLED_MESSAGE). Only the account-like actors (account, multisig)
/// accept an unknown exported method (the universal receiver hook), and
/// the placeholder accepts every method. The system actor's constructor
/// takes no parameters, so any are an illegal argument.
const V18: &[(&str, Codes)] = &[
    ("system f00", [Some(22), Some(22), Some(16)]),
    ("init f01", [Some(22), Some(22), Some(21)]),
    ("reward f02", [Some(22), Some(22), Some(21)]),
    ("cron f03", [Some(22), Some(22), Some(21)]),
    ("power f04", [Some(22), Some(22), Some(21)]),
    ("market f05", [Some(22), Some(22), Some(21)]),
    ("verifreg f06", [Some(22), Some(22), Some(21)]),
    ("datacap f07", [Some(22), Some(22), Some(21)]),
    ("eam f010", [Some(22), Some(22), Some(21)]),
    ("account", [Some(0), Some(22), Some(21)]),
    ("miner", [Some(22), Some(22), Some(21)]),
    ("placeholder", [Some(0), Some(0), Some(0)]),
    ("multisig", [Some(0), Some(22), Some(21)]),
    ("paych", [Some(22), Some(22), Some(21)]),
];

/// The actors that cannot be created on Ferrite's bundle, and why. The test
/// checks that their creation is refused there (and succeeds on the
/// official bundle), so that implementing one brings its row into the
/// comparison. Their stubs still answer as v18's actors would (the
/// multisig stub accepts unknown exported methods), as far as a stub can.
const NOT_ON_FERRITE: &[(&str, &str)] = &[
    (
        "multisig",
        "not implemented: init refuses to Exec the stub's code (USR_FORBIDDEN)",
    ),
    (
        "paych",
        "not implemented: init refuses to Exec the stub's code (USR_FORBIDDEN)",
    ),
];

/// Where Ferrite answers differently from v18 on purpose, cell by cell: the
/// target, the probe, Ferrite's code, and why. The test fails if a listed
/// difference disappears as well as if an unlisted one appears. There are
/// none: the verified registry and datacap stubs' constructors decode v18's
/// parameters before checking the caller, as v18's do.
const DIFFERENCES: &[(&str, Probe, Option<u32>, &str)] = &[];

/// init's `Exec` parameters (v18).
#[derive(fvm_ipld_encoding::tuple::Serialize_tuple)]
struct ExecParams {
    code_cid: Cid,
    constructor_params: RawBytes,
}

/// init's `Exec` return value (v18).
#[derive(fvm_ipld_encoding::tuple::Deserialize_tuple)]
struct ExecReturn {
    id_address: Address,
    #[allow(dead_code)]
    robust_address: Address,
}

/// The code CID of actor `name` in the bundle `actors`.
fn code(actors: Actors, name: &str) -> Cid {
    let bs = fvm_ipld_blockstore::MemoryBlockstore::new();
    let bundle = match actors {
        Actors::Ferrite => ferrite_chain::bundle::Bundle::embedded(&bs),
        Actors::Official => {
            ferrite_chain::bundle::Bundle::from_car(&bs, &common::reference_bundle().unwrap())
        }
    };
    bundle.unwrap().code(name).unwrap()
}

/// A probed actor. `malformed_method` is what the malformed-parameter probe
/// calls: a method the actor has on both bundles that takes parameters.
struct Target {
    name: &'static str,
    addr: Address,
    malformed_method: Option<u64>,
}

/// A devnet on one bundle, with a funded sender (secp256k1) and a BLS
/// account, which is also the miner's worker.
struct Net {
    dn: Devnet,
    sender: PrivateKey,
    account: PrivateKey,
    _dir: tempfile::TempDir,
}

impl Net {
    fn open(actors: Actors) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // Fixed keys: both bundles' runs create the same addresses.
        let (sender, account) = (common::net::owner_key(), common::net::worker_key());
        let settings = common::net::settings(
            "unhandled-methods",
            vec![
                (sender.address().unwrap(), TokenAmount::from_whole(10_000)),
                (account.address().unwrap(), TokenAmount::from_whole(10)),
            ],
        );
        Net {
            dn: common::net::open_in(dir.path(), settings, actors),
            sender,
            account,
            _dir: dir,
        }
    }

    /// Pushes messages from the sender (nonces in order) and produces
    /// blocks until all have executed; their receipts, in the same order.
    fn exec_all(&self, calls: &[(Address, u64, RawBytes, TokenAmount)]) -> Vec<Receipt> {
        let cids: Vec<Cid> = calls
            .iter()
            .map(|(to, method, params, value)| {
                let msg = Message {
                    version: 0,
                    from: self.sender.address().unwrap(),
                    to: *to,
                    sequence: 0,
                    value: value.clone(),
                    method_num: *method,
                    params: params.clone(),
                    // Several probes fit in a block; each needs far less.
                    gas_limit: 500_000_000,
                    gas_fee_cap: TokenAmount::from_atto(1_000),
                    gas_premium: TokenAmount::from_atto(100),
                };
                self.dn.push_next(msg, &self.sender).unwrap().cid().unwrap()
            })
            .collect();
        for _ in 0..(cids.len() + 4) {
            self.dn.produce_block().unwrap();
            let found: Vec<_> = cids.iter().map(|c| self.dn.search(c).unwrap()).collect();
            if found.iter().all(Option::is_some) {
                return found.into_iter().map(|f| f.unwrap().receipt).collect();
            }
        }
        panic!("messages not executed after {} blocks", cids.len() + 4);
    }

    /// `addr`'s balance and state root at the head.
    fn snapshot(&self, addr: &Address) -> (TokenAmount, Cid) {
        let a = self.dn.actor(addr, &[]).unwrap().expect("actor exists");
        (a.balance, a.state)
    }
}

/// Creates a miner and a placeholder, then probes every reachable actor;
/// the exit codes by target.
fn probe(actors: Actors) -> (Vec<(&'static str, Codes)>, Vec<String>) {
    let net = Net::open(actors);
    let create = power::CreateMinerParams {
        owner: net.sender.address().unwrap(),
        worker: net.account.address().unwrap(),
        window_post_proof_type: RegisteredPoStProof::StackedDRGWindow2KiBV1P1,
        peer: b"12D3KooWferrite".to_vec(),
        multiaddrs: vec![],
    };
    let f410 = Address::new_delegated(EAM_ACTOR, &[0xfe; 20]).unwrap();
    let setup = net.exec_all(&[
        (
            Address::new_id(POWER_ACTOR),
            power::Method::CreateMiner as u64,
            RawBytes::serialize(&create).unwrap(),
            TokenAmount::from_whole(100),
        ),
        (
            f410,
            fvm_shared::METHOD_SEND,
            RawBytes::default(),
            TokenAmount::from_whole(1),
        ),
        (
            Address::new_id(1),
            2,
            RawBytes::serialize(&ExecParams {
                code_cid: code(actors, "multisig"),
                constructor_params: RawBytes::serialize((
                    vec![net.sender.address().unwrap()],
                    1u64,
                    0i64,
                    0i64,
                ))
                .unwrap(),
            })
            .unwrap(),
            TokenAmount::from_whole(1),
        ),
        (
            Address::new_id(1),
            2,
            RawBytes::serialize(&ExecParams {
                code_cid: code(actors, "paymentchannel"),
                constructor_params: RawBytes::serialize((
                    net.sender.address().unwrap(),
                    net.account.address().unwrap(),
                ))
                .unwrap(),
            })
            .unwrap(),
            TokenAmount::from_whole(1),
        ),
    ]);
    for r in &setup[..2] {
        assert_eq!(r.exit_code, ExitCode::OK, "setup on {actors:?}");
    }
    let mut problems = Vec::new();
    for (i, name) in [(2, "multisig"), (3, "paych")] {
        let expected = match (actors, NOT_ON_FERRITE.iter().any(|(n, _)| *n == name)) {
            (Actors::Ferrite, true) => ExitCode::USR_FORBIDDEN,
            _ => ExitCode::OK,
        };
        if setup[i].exit_code != expected {
            problems.push(format!(
                "{actors:?}: creating a {name} gave {}, not {expected}",
                setup[i].exit_code
            ));
        }
    }
    let execd = |i: usize| -> Option<Address> {
        setup[i].exit_code.is_success().then(|| {
            let r: ExecReturn =
                fvm_ipld_encoding::from_slice(setup[i].return_data.bytes()).unwrap();
            r.id_address
        })
    };
    let (msig, paych) = (execd(2), execd(3));
    let created: power::CreateMinerReturn =
        fvm_ipld_encoding::from_slice(setup[0].return_data.bytes()).unwrap();
    let placeholder = net.dn.lookup_id(&f410, &[]).unwrap().expect("placeholder");
    let account = net
        .dn
        .lookup_id(&net.account.address().unwrap(), &[])
        .unwrap()
        .unwrap();

    let mut targets = vec![
        Target {
            name: "system f00",
            addr: Address::new_id(0),
            malformed_method: Some(1), // Constructor: v18 takes none.
        },
        Target {
            name: "init f01",
            addr: Address::new_id(1),
            malformed_method: Some(2), // Exec
        },
        Target {
            name: "reward f02",
            addr: Address::new_id(REWARD_ACTOR),
            malformed_method: Some(2), // AwardBlockReward
        },
        Target {
            name: "cron f03",
            addr: Address::new_id(3),
            malformed_method: Some(1), // Constructor(entries)
        },
        Target {
            name: "power f04",
            addr: Address::new_id(POWER_ACTOR),
            malformed_method: Some(2), // CreateMiner
        },
        Target {
            name: "market f05",
            addr: Address::new_id(MARKET_ACTOR),
            malformed_method: Some(2), // AddBalance
        },
        // The only method Ferrite's verifreg and datacap stubs have.
        Target {
            name: "verifreg f06",
            addr: Address::new_id(VERIFREG_ACTOR),
            malformed_method: Some(1), // Constructor(root key)
        },
        Target {
            name: "datacap f07",
            addr: Address::new_id(DATACAP_ACTOR),
            malformed_method: Some(1), // Constructor(governor)
        },
        Target {
            name: "eam f010",
            addr: Address::new_id(EAM_ACTOR),
            malformed_method: Some(2), // Create
        },
        Target {
            name: "account",
            addr: account,
            malformed_method: Some(2643134072), // AuthenticateMessage
        },
        Target {
            name: "miner",
            addr: created.id_address,
            malformed_method: Some(4), // ChangePeerID
        },
        Target {
            name: "placeholder",
            addr: placeholder,
            // It has no methods; v18's accepts any.
            malformed_method: Some(2),
        },
    ];
    if let Some(a) = msig {
        targets.push(Target {
            name: "multisig",
            addr: a,
            malformed_method: Some(2), // Propose
        });
    }
    if let Some(a) = paych {
        targets.push(Target {
            name: "paych",
            addr: a,
            malformed_method: Some(2), // UpdateChannelState
        });
    }

    let mut calls = Vec::new();
    let mut slots = Vec::new();
    for (t, target) in targets.iter().enumerate() {
        for (p, probe) in PROBES.iter().enumerate() {
            let (method, params) = match probe {
                Probe::UnknownExported => (UNKNOWN_EXPORTED, RawBytes::default()),
                Probe::UnknownInternal => (UNKNOWN_INTERNAL, RawBytes::default()),
                Probe::MalformedParams => match target.malformed_method {
                    Some(m) => (m, RawBytes::new(MALFORMED.to_vec())),
                    None => continue,
                },
            };
            calls.push((
                target.addr,
                method,
                params,
                TokenAmount::from_atto(PROBE_VALUE),
            ));
            slots.push((t, p));
        }
    }
    let before: Vec<_> = targets.iter().map(|t| net.snapshot(&t.addr)).collect();
    let receipts = net.exec_all(&calls);
    let after: Vec<_> = targets.iter().map(|t| net.snapshot(&t.addr)).collect();

    let mut table: Vec<(&'static str, Codes)> =
        targets.iter().map(|t| (t.name, [None; 3])).collect();
    for ((t, p), r) in slots.into_iter().zip(&receipts) {
        assert_ne!(
            r.exit_code,
            ExitCode::SYS_OUT_OF_GAS,
            "{} probe {:?} on {actors:?} ran out of gas",
            targets[t].name,
            PROBES[p]
        );
        table[t].1[p] = Some(r.exit_code.value());
    }

    // A refused probe's value stays with the sender; an accepted one lands.
    // The reward actor is left out: the gas tips of every block go through it.
    // Cron runs power, market (and so the miner) every epoch, so their state
    // moves; the others' must not.
    for (i, t) in targets.iter().enumerate() {
        let accepted = table[i].1.iter().filter(|c| **c == Some(0)).count() as u64;
        let gained = &after[i].0 - &before[i].0;
        if t.addr != Address::new_id(REWARD_ACTOR)
            && gained != TokenAmount::from_atto(PROBE_VALUE * accepted)
        {
            problems.push(format!(
                "{actors:?} {}: balance moved by {gained} after {accepted} accepted probes",
                t.name
            ));
        }
        let cron_touched = [POWER_ACTOR, MARKET_ACTOR, REWARD_ACTOR]
            .map(Address::new_id)
            .contains(&t.addr)
            || t.addr == created.id_address;
        if !cron_touched && after[i].1 != before[i].1 {
            problems.push(format!("{actors:?} {}: state changed", t.name));
        }
    }
    (table, problems)
}

fn show(code: Option<u32>) -> String {
    let Some(c) = code else {
        return "-".to_string();
    };
    let name = match c {
        0 => "OK",
        16 => "ILLEGAL_ARGUMENT",
        18 => "FORBIDDEN",
        21 => "SERIALIZATION",
        22 => "UNHANDLED_MESSAGE",
        _ => "",
    };
    format!("{c} {name}")
}

fn print(actors: Actors, table: &[(&str, Codes)]) {
    println!("{actors:?}:");
    println!(
        "  {:<14} {:<22} {:<22} {:<22}",
        "actor", "unknown exported", "unknown internal", "malformed params"
    );
    for (name, codes) in table {
        println!(
            "  {:<14} {:<22} {:<22} {:<22}",
            name,
            show(codes[0]),
            show(codes[1]),
            show(codes[2])
        );
    }
}

/// v18's table with the listed differences applied: what Ferrite must answer.
fn expected_ferrite() -> Vec<(&'static str, Codes)> {
    let mut t: Vec<(&'static str, Codes)> = V18
        .iter()
        .filter(|(name, _)| NOT_ON_FERRITE.iter().all(|(n, _)| n != name))
        .copied()
        .collect();
    for (name, probe, code, _why) in DIFFERENCES {
        let row = t
            .iter_mut()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("difference for unknown target {name}"));
        let p = PROBES.iter().position(|x| x == probe).unwrap();
        assert_ne!(
            row.1[p], *code,
            "listed difference {name} {probe:?} is none"
        );
        row.1[p] = *code;
    }
    t
}

#[test]
fn issue_12_unknown_methods_and_malformed_params_are_answered_as_v18() {
    let started = Instant::now();
    let tables: Vec<_> = bundles().into_iter().map(|a| (a, probe(a))).collect();
    for (actors, (table, _)) in &tables {
        print(*actors, table);
    }
    for (name, why) in NOT_ON_FERRITE {
        println!("not on Ferrite: {name}: {why}");
    }
    for (name, probe, code, why) in DIFFERENCES {
        println!(
            "difference: {name} {probe:?}: Ferrite {}: {why}",
            show(*code)
        );
    }
    println!("took {:.1?}", started.elapsed());
    for (actors, (table, problems)) in tables {
        assert!(problems.is_empty(), "{problems:#?}");
        match actors {
            Actors::Official => assert_eq!(table, V18, "the official bundle's answers moved"),
            Actors::Ferrite => assert_eq!(
                table,
                expected_ferrite(),
                "Ferrite's answers differ from v18's beyond DIFFERENCES"
            ),
        }
    }
}
