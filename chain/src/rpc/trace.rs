//! The `ExecutionTrace` of Lotus's `InvocResult` (StateReplay, StateCall),
//! built from the FVM's execution trace as Lotus's FFI builds it: one node
//! per call (the message's own, then every send it made, nested), each with
//! its message, its return, the actor it invoked, its gas charges and its
//! debug logs.
//!
//! ```text
//!  ExecutionEvent stream ─► Call ─► push a frame (Msg)
//!                           InvokeActor ─► the frame's InvokedActor
//!                           GasCharge / Log ─► the frame's GasCharges / Logs
//!                           CallReturn / CallError ─► pop: MsgRct; into the parent's Subcalls
//! ```
//!
//! A result run without tracing (StateCall) has no events: its trace is the
//! top-level call alone, from the message and its receipt.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use fvm::executor::ApplyRet;
use fvm::kernel::SyscallError;
use fvm::trace::ExecutionEvent;
use fvm_ipld_encoding::ipld_block::IpldBlock;
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::error::{ErrorNumber, ExitCode};
use fvm_shared::message::Message;
use serde_json::{Value, json};

/// One call being built.
struct Frame {
    msg: Value,
    invoked: Value,
    gas: Vec<Value>,
    logs: Vec<String>,
    subcalls: Vec<Value>,
}

impl Frame {
    fn new(msg: Value) -> Frame {
        Frame {
            msg,
            invoked: Value::Null,
            gas: Vec::new(),
            logs: Vec::new(),
            subcalls: Vec::new(),
        }
    }

    fn finish(self, rct: Value) -> Value {
        let mut v = json!({
            "Msg": self.msg,
            "MsgRct": rct,
            "GasCharges": self.gas,
            "Subcalls": self.subcalls,
        });
        if !self.invoked.is_null() {
            v["InvokedActor"] = self.invoked;
        }
        if !self.logs.is_empty() {
            v["Logs"] = json!(self.logs);
        }
        v
    }
}

fn atto(t: &TokenAmount) -> String {
    t.atto().to_string()
}

fn block(b: Option<&IpldBlock>) -> (String, u64) {
    match b {
        Some(b) => (B64.encode(&b.data), b.codec),
        None => (String::new(), 0),
    }
}

/// The exit code recorded for a send that failed before the callee ran
/// (the FVM's syscall error): the sender lacked the funds, or there was no
/// such receiver; anything else is an assertion failure.
fn call_error_code(e: &SyscallError) -> ExitCode {
    match e.1 {
        ErrorNumber::InsufficientFunds => ExitCode::SYS_INSUFFICIENT_FUNDS,
        ErrorNumber::NotFound => ExitCode::SYS_INVALID_RECEIVER,
        _ => ExitCode::SYS_ASSERTION_FAILED,
    }
}

/// The `ExecutionTrace` of `ret`, the result of `msg`.
pub(crate) fn execution_trace(msg: &Message, ret: &ApplyRet) -> Value {
    from_events(&ret.exec_trace).unwrap_or_else(|| top_level(msg, ret))
}

/// The call tree of `events`, or `None` if they hold no call.
fn from_events(events: &[ExecutionEvent]) -> Option<Value> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Value> = None;
    // Charges before the message's call (its inclusion) and after its
    // return belong to its node, in the order they were charged.
    let mut before: Vec<Value> = Vec::new();
    let mut after: Vec<Value> = Vec::new();
    for event in events {
        match event {
            ExecutionEvent::GasCharge(c) => {
                let charge = json!({
                    "Name": c.name,
                    "tg": c.total().round_up(),
                    "cg": c.compute_gas.round_up(),
                    "sg": c.other_gas.round_up(),
                    "tt": c
                        .elapsed
                        .get()
                        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
                        .unwrap_or(0),
                });
                match stack.last_mut() {
                    Some(f) => f.gas.push(charge),
                    None if root.is_none() => before.push(charge),
                    None => after.push(charge),
                }
            }
            ExecutionEvent::Call {
                from,
                to,
                method,
                params,
                value,
                gas_limit,
                read_only,
            } => {
                let (params, codec) = block(params.as_ref());
                stack.push(Frame::new(json!({
                    "From": Address::new_id(*from).to_string(),
                    "To": to.to_string(),
                    "Value": atto(value),
                    "Method": method,
                    "Params": params,
                    "ParamsCodec": codec,
                    "GasLimit": gas_limit,
                    "ReadOnly": read_only,
                })));
            }
            ExecutionEvent::InvokeActor { id, state } => {
                if let Some(f) = stack.last_mut() {
                    f.invoked = json!({
                        "Id": id,
                        "State": {
                            "Code": {"/": state.code.to_string()},
                            "Head": {"/": state.state.to_string()},
                            "Nonce": state.sequence,
                            "Balance": atto(&state.balance),
                            "DelegatedAddress": state.delegated_address.map(|a| a.to_string()),
                        },
                    });
                }
            }
            ExecutionEvent::Log(line) => {
                if let Some(f) = stack.last_mut() {
                    f.logs.push(line.clone());
                }
            }
            ExecutionEvent::CallReturn(exit, ret) => {
                let (data, codec) = block(ret.as_ref());
                let rct = json!({"ExitCode": exit.value(), "Return": data, "ReturnCodec": codec});
                finish(&mut stack, &mut root, rct);
            }
            ExecutionEvent::CallError(e) => {
                let rct =
                    json!({"ExitCode": call_error_code(e).value(), "Return": "", "ReturnCodec": 0});
                finish(&mut stack, &mut root, rct);
            }
            _ => {}
        }
    }
    let mut root = root?;
    if let Some(charges) = root["GasCharges"].as_array_mut() {
        let inside = std::mem::replace(charges, before);
        charges.extend(inside);
        charges.extend(after);
    }
    Some(root)
}

/// Ends the innermost call with `rct`: into its parent's subcalls, or as
/// the root.
fn finish(stack: &mut Vec<Frame>, root: &mut Option<Value>, rct: Value) {
    let Some(frame) = stack.pop() else { return };
    let node = frame.finish(rct);
    match stack.last_mut() {
        Some(parent) => parent.subcalls.push(node),
        None => *root = Some(node),
    }
}

/// The top-level call alone, from the message and its receipt (a result
/// run without tracing).
fn top_level(msg: &Message, ret: &ApplyRet) -> Value {
    json!({
        "Msg": {
            "From": msg.from.to_string(),
            "To": msg.to.to_string(),
            "Value": atto(&msg.value),
            "Method": msg.method_num,
            "Params": B64.encode(msg.params.bytes()),
            "ParamsCodec": if msg.params.is_empty() { 0 } else { fvm_ipld_encoding::CBOR },
            "GasLimit": msg.gas_limit,
            "ReadOnly": false,
        },
        "MsgRct": {
            "ExitCode": ret.msg_receipt.exit_code.value(),
            "Return": B64.encode(ret.msg_receipt.return_data.bytes()),
            "ReturnCodec": ret.return_codec.unwrap_or_default(),
        },
        "GasCharges": [],
        "Subcalls": [],
    })
}

#[cfg(test)]
mod tests {
    use fvm::gas::{Gas, GasCharge};

    use super::*;

    fn charge(name: &'static str, gas: u64) -> ExecutionEvent {
        ExecutionEvent::GasCharge(GasCharge::new(name, Gas::new(gas), Gas::new(0)))
    }

    fn call(from: u64, to: u64, method: u64) -> ExecutionEvent {
        ExecutionEvent::Call {
            from,
            to: Address::new_id(to),
            method,
            params: None,
            value: TokenAmount::from_atto(5),
            gas_limit: 1000,
            read_only: false,
        }
    }

    #[test]
    fn events_become_a_call_tree_with_each_calls_charges() {
        let events = vec![
            charge("OnChainMessage", 10),
            call(100, 1000, 2),
            charge("OnMethodInvocation", 3),
            call(1000, 1001, 7),
            charge("wasm_exec", 4),
            ExecutionEvent::CallReturn(ExitCode::OK, None),
            call(1000, 1002, 0),
            ExecutionEvent::CallError(SyscallError::new(ErrorNumber::NotFound, "no actor")),
            ExecutionEvent::CallReturn(ExitCode::new(16), None),
            charge("OnChainReturnValue", 1),
        ];
        let root = from_events(&events).unwrap();
        assert_eq!(root["Msg"]["From"], "f0100");
        assert_eq!(root["Msg"]["To"], "f01000");
        assert_eq!(root["Msg"]["Value"], "5");
        assert_eq!(root["MsgRct"]["ExitCode"], 16);
        let names: Vec<&str> = root["GasCharges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["OnChainMessage", "OnMethodInvocation", "OnChainReturnValue"]
        );
        let subs = root["Subcalls"].as_array().unwrap();
        assert_eq!(subs.len(), 2);
        assert_eq!(subs[0]["Msg"]["To"], "f01001");
        assert_eq!(subs[0]["GasCharges"][0]["tg"], 4);
        assert_eq!(subs[0]["MsgRct"]["ExitCode"], 0);
        // A send to a missing actor: SYS_INVALID_RECEIVER.
        assert_eq!(subs[1]["MsgRct"]["ExitCode"], 5);
        assert_eq!(from_events(&[charge("x", 1)]), None, "no call, no tree");
    }
}
