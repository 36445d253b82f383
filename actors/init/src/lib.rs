//! The init actor (f01): allocates actor IDs and creates actors.
//!
//! Its state is shared with the FVM, which allocates IDs in the same map
//! when a send creates an account implicitly, so the layout is exactly the
//! FVM's: `(address_map, next_id, network_name)`, the map a HAMT from the
//! robust address's bytes to the ID, with bit width 5.
//!
//! Methods (numbers as in builtin-actors v18): 1 Constructor (system only),
//! 2 Exec: create an actor of non-builtin code (a user WASM actor installed in
//! the blockstore, or a miner when the power actor asks) at a new ID, run its
//! constructor with the given
//! parameters, and return its ID and robust address; 3 Exec4 (the EAM only):
//! the same for an EVM actor, which also gets the f4 address
//! `f4<caller>:<subaddress>`; a placeholder already at that address is
//! replaced, as in v18.

use cid::Cid;
use ferrite_actor_rt::{self as rt, ActorBlockstore, OrAbort};
use fvm_ipld_encoding::RawBytes;
use fvm_ipld_encoding::ipld_block::IpldBlock;
use fvm_ipld_hamt::{BytesKey, Hamt};
use fvm_shared::ActorID;
use fvm_shared::address::Address;
use fvm_shared::error::ExitCode;
use fvm_shared::sys::SendFlags;
use serde_tuple::{Deserialize_tuple, Serialize_tuple};

/// The HAMT bit width of the address map, fixed by the FVM.
pub const HAMT_BIT_WIDTH: u32 = 5;
/// The first ID handed to a non-singleton actor.
pub const FIRST_NON_SINGLETON_ID: ActorID = 100;

/// Init state, in the FVM's layout.
#[derive(Serialize_tuple, Deserialize_tuple)]
pub struct State {
    /// Robust address bytes → actor ID.
    pub address_map: Cid,
    /// The next ID to hand out.
    pub next_id: ActorID,
    /// The network's name.
    pub network_name: String,
}

/// Constructor parameters (v18).
#[derive(Serialize_tuple, Deserialize_tuple)]
pub struct ConstructorParams {
    /// The network's name.
    pub network_name: String,
}

/// Exec parameters (v18).
#[derive(Serialize_tuple, Deserialize_tuple)]
pub struct ExecParams {
    /// The code of the actor to create.
    pub code_cid: Cid,
    /// CBOR parameters of its constructor (method 1); empty for none.
    pub constructor_params: RawBytes,
}

/// Exec return value (v18).
#[derive(Serialize_tuple, Deserialize_tuple)]
pub struct ExecReturn {
    /// The new actor's ID address.
    pub id_address: Address,
    /// Its robust (reorg-safe) address.
    pub robust_address: Address,
}

/// Exec4 parameters (v18).
#[derive(Serialize_tuple, Deserialize_tuple)]
pub struct Exec4Params {
    /// The code of the actor to create.
    pub code_cid: Cid,
    /// CBOR parameters of its constructor (method 1); empty for none.
    pub constructor_params: RawBytes,
    /// The f4 subaddress, in the caller's namespace.
    pub subaddress: RawBytes,
}

/// The FVM entry point.
#[unsafe(no_mangle)]
pub fn invoke(params: u32) -> u32 {
    rt::sdk::initialize();
    match rt::sdk::message::method_number() {
        // As in v18, parameters are decoded before anything else.
        1 => constructor(rt::abort_on_err(rt::send::required_params(params))),
        2 => exec(rt::abort_on_err(rt::send::required_params(params))),
        3 => exec4(rt::abort_on_err(rt::send::required_params(params))),
        m => rt::unhandled(m),
    }
}

fn constructor(p: ConstructorParams) -> u32 {
    rt::require_caller(rt::SYSTEM_ACTOR);
    let mut map = Hamt::<_, ActorID, BytesKey>::new_with_bit_width(ActorBlockstore, HAMT_BIT_WIDTH);
    let address_map = map
        .flush()
        .or_abort(ExitCode::USR_ILLEGAL_STATE, "flush address map");
    rt::save_state(&State {
        address_map,
        next_id: FIRST_NON_SINGLETON_ID,
        network_name: p.network_name,
    });
    rt::ret_nothing()
}

/// The address map of `st`.
fn address_map(st: &State) -> Hamt<ActorBlockstore, ActorID, BytesKey> {
    Hamt::load_with_bit_width(&st.address_map, ActorBlockstore, HAMT_BIT_WIDTH)
        .or_abort(ExitCode::USR_ILLEGAL_STATE, "load address map")
}

fn exec(p: ExecParams) -> u32 {
    // Builtin actors are singletons or are created by the FVM or by their
    // own factories: a miner only by the power actor (as in builtin-actors);
    // any other builtin code is refused. User code may be deployed freely.
    if let Some(t) = rt::types::type_of_code(&p.code_cid) {
        let caller = rt::types::actor_type(rt::sdk::message::caller());
        let allowed = t == rt::types::Type::Miner && caller == Some(rt::types::Type::Power);
        if !allowed {
            rt::abort(
                ExitCode::USR_FORBIDDEN,
                &format!("cannot exec builtin actor code {} ({t:?})", p.code_cid),
            );
        }
    }
    let robust_address = rt::sdk::actor::next_actor_address();
    let mut st: State = rt::load_state();
    let mut map = address_map(&st);
    let id = st.next_id;
    st.next_id += 1;
    map.set(robust_address.to_bytes().into(), id)
        .or_abort(ExitCode::USR_ILLEGAL_STATE, "map new address");
    st.address_map = map
        .flush()
        .or_abort(ExitCode::USR_ILLEGAL_STATE, "flush address map");
    // Save before calling out: the FVM may allocate IDs in the same state
    // while the constructor runs.
    rt::save_state(&st);
    rt::sdk::actor::create_actor(id, &p.code_cid, None).or_abort(
        ExitCode::USR_ILLEGAL_ARGUMENT,
        &format!("create actor with code {}", p.code_cid),
    );
    construct(id, &p.constructor_params);
    rt::ret(&ExecReturn {
        id_address: Address::new_id(id),
        robust_address,
    })
}

/// Sends the new actor `id` its constructor call with the value received;
/// aborts with the constructor's exit code if it fails.
fn construct(id: ActorID, params: &RawBytes) {
    let ctor_params = (!params.is_empty()).then(|| IpldBlock {
        codec: fvm_ipld_encoding::CBOR,
        data: params.to_vec(),
    });
    let resp = rt::sdk::send::send(
        &Address::new_id(id),
        1,
        ctor_params,
        rt::sdk::message::value_received(),
        None,
        SendFlags::empty(),
    )
    .or_abort(ExitCode::USR_ILLEGAL_STATE, "send constructor");
    if !resp.exit_code.is_success() {
        match resp.return_data {
            // The constructor's return data (an EVM revert's, say) goes back
            // to the caller, as v18's init passes it on.
            Some(data) => rt::sdk::vm::exit(
                resp.exit_code.value(),
                Some(data),
                Some(&format!("constructor of f0{id} failed")),
            ),
            None => rt::abort(
                resp.exit_code,
                &format!(
                    "constructor of f0{id} failed with exit code {}",
                    resp.exit_code
                ),
            ),
        }
    }
}

fn exec4(p: Exec4Params) -> u32 {
    rt::require_caller(rt::types::EAM_ACTOR_ID);
    let caller = rt::sdk::message::caller();
    let delegated = Address::new_delegated(caller, p.subaddress.bytes())
        .or_abort(ExitCode::USR_ILLEGAL_ARGUMENT, "f4 address");
    let robust_address = rt::sdk::actor::next_actor_address();
    let mut st: State = rt::load_state();
    let mut map = address_map(&st);
    // As v18's map_addresses_to_id_with_reserve: the f4 address keeps the
    // ID it has (a placeholder's), or gets a new one; the robust address
    // maps to the same ID.
    let existing = map
        .get(&BytesKey(delegated.to_bytes()))
        .or_abort(ExitCode::USR_ILLEGAL_STATE, "read address map")
        .copied();
    let id = match existing {
        Some(id) => id,
        None => {
            let id = st.next_id;
            st.next_id += 1;
            map.set(delegated.to_bytes().into(), id)
                .or_abort(ExitCode::USR_ILLEGAL_STATE, "map f4 address");
            id
        }
    };
    let added = map
        .set_if_absent(robust_address.to_bytes().into(), id)
        .or_abort(ExitCode::USR_ILLEGAL_STATE, "map new address");
    if !added {
        rt::abort(
            ExitCode::USR_ILLEGAL_ARGUMENT,
            &format!("robust address {robust_address} is already allocated"),
        );
    }
    st.address_map = map
        .flush()
        .or_abort(ExitCode::USR_ILLEGAL_STATE, "flush address map");
    rt::save_state(&st);
    if existing.is_some() {
        let code = rt::sdk::actor::get_actor_code_cid(&Address::new_id(id));
        let placeholder =
            code.as_ref().and_then(rt::types::type_of_code) == Some(rt::types::Type::Placeholder);
        if !placeholder {
            rt::abort(
                ExitCode::USR_FORBIDDEN,
                &format!("cannot replace existing non-placeholder actor with address {delegated}"),
            );
        }
    }
    rt::sdk::actor::create_actor(id, &p.code_cid, Some(delegated)).or_abort(
        ExitCode::USR_ILLEGAL_ARGUMENT,
        &format!("create actor with code {}", p.code_cid),
    );
    construct(id, &p.constructor_params);
    rt::ret(&ExecReturn {
        id_address: Address::new_id(id),
        robust_address,
    })
}
