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
//! parameters, and return its ID and robust address.

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

/// The FVM entry point.
#[unsafe(no_mangle)]
pub fn invoke(params: u32) -> u32 {
    rt::sdk::initialize();
    match rt::sdk::message::method_number() {
        // As in v18, parameters are decoded before anything else.
        1 => constructor(rt::abort_on_err(rt::send::required_params(params))),
        2 => exec(rt::abort_on_err(rt::send::required_params(params))),
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
    let mut map = Hamt::<_, ActorID, BytesKey>::load_with_bit_width(
        &st.address_map,
        ActorBlockstore,
        HAMT_BIT_WIDTH,
    )
    .or_abort(ExitCode::USR_ILLEGAL_STATE, "load address map");
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
    let ctor_params = (!p.constructor_params.is_empty()).then(|| IpldBlock {
        codec: fvm_ipld_encoding::CBOR,
        data: p.constructor_params.to_vec(),
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
        rt::abort(
            resp.exit_code,
            &format!(
                "constructor of f0{id} failed with exit code {}",
                resp.exit_code
            ),
        );
    }
    rt::ret(&ExecReturn {
        id_address: Address::new_id(id),
        robust_address,
    })
}
