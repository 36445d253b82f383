//! Filecoin addresses from text, parsed exactly as go-address parses them.
//!
//! Every place that takes an address as text from outside (JSON-RPC params,
//! CLI flags, the config file) calls [`parse`], so Ferrite refuses exactly the
//! strings Lotus refuses. `fvm_shared`'s own `FromStr` does not match go-address:
//!
//! - it accepts ID addresses and f4 namespaces above 2^63−1, a leading `+`
//!   and 20 digits, where go-address parses them with
//!   `strconv.ParseUint(s, 10, 63)` after a limit of 19 characters;
//! - it accepts only the prefix of the process-wide network (`f` unless
//!   someone called `set_current_network`), where go-address takes `f` and `t`;
//! - it allows 138 characters, go-address 115.
//!
//! The rules, from filecoin-project/go-address (`decode` in address.go, and
//! constants.go), in the order go-address checks them:
//!
//! 1. `""` and `"<empty>"` decode to `Undef`, which names no actor. We refuse it
//!    ([`AddressFault::Undef`]), since an [`Address`] cannot be undefined.
//! 2. 3 to 115 bytes long.
//! 3. The network: `f` or `t`, lower case.
//! 4. The protocol: `0` ID, `1` secp256k1, `2` actor, `3` BLS, `4` delegated.
//! 5. ID: at most 19 characters, ASCII digits only (leading zeros allowed, no
//!    sign), at most 2^63−1.
//! 6. Delegated: `{namespace}f{base32}`, split at the first `f`; the namespace
//!    follows the ID rules; the sub-address is at most 54 bytes.
//! 7. Others: the base32 text (alphabet `a-z2-7`, no padding, canonical: no
//!    stray trailing bits) decodes to the payload and a 4-byte checksum; the
//!    payload is 20 bytes (secp256k1, actor) or 48 (BLS).
//! 8. The checksum is blake2b-32 over the protocol byte and the payload (for
//!    f4, the namespace as a uvarint, then the sub-address).
//!
//! Steps 1 to 6 and the lengths in step 7 are checked here; the base32
//! decoding and the checksum are left to `fvm_shared`, which agrees with
//! go-address on them.
//!
//! ```
//! use ferrite_types::address::{self, AddressFault};
//!
//! let a = address::parse("t01000")?;
//! assert_eq!(a.id(), Ok(1000));
//! assert_eq!(address::parse("f09223372036854775807")?.id(), Ok(address::MAX_ID));
//! let e = address::parse("f09223372036854775808").unwrap_err();
//! assert_eq!(e.reason, AddressFault::AboveU63 { what: "the ID" });
//! # Ok::<(), ferrite_types::address::AddressError>(())
//! ```

use fvm_shared::address::{Address, Error as FvmError, Network};

/// The largest actor ID (and f4 namespace) go-address accepts: 2^63−1.
pub const MAX_ID: u64 = u64::MAX >> 1;

/// go-address's `MaxAddressStringLength`: `f4`, 19 digits, `f`, and the
/// base32 of a 54-byte sub-address with its checksum.
const MAX_TEXT_LEN: usize = 115;
/// go-address's `MaxInt64StringLength`: the digits of 2^63−1.
const MAX_DIGITS: usize = 19;
const CHECKSUM_LEN: usize = 4;
const MAX_SUBADDRESS_LEN: usize = 54;
/// go-address's `UndefAddressString`.
const UNDEF: &str = "<empty>";

/// A text that is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid address {input:?}: {reason}")]
pub struct AddressError {
    /// The text as given.
    pub input: String,
    /// What is wrong with it.
    pub reason: AddressFault,
}

/// What is wrong with an address text. [`AddressFault::go_error`] names the
/// error go-address returns for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressFault {
    /// `""` or `"<empty>"`: go-address reads these as `Undef`.
    #[error("empty (go-address reads it as the undefined address, which names no actor)")]
    Undef,
    /// Shorter than 3 or longer than 115 bytes.
    #[error("{0} bytes long; an address has 3 to 115")]
    Length(usize),
    /// The first character is not `f` or `t`.
    #[error("the network prefix must be `f` or `t`")]
    Network,
    /// The second character is not a protocol digit.
    #[error("the protocol must be 0 (ID), 1 (secp256k1), 2 (actor), 3 (BLS) or 4 (delegated)")]
    Protocol,
    /// An ID or namespace of more than 19 characters.
    #[error("{what} has {len} characters; at most 19")]
    TooManyDigits {
        /// `the ID` or `the namespace`.
        what: &'static str,
        /// How many it has.
        len: usize,
    },
    /// An ID or namespace that is not all ASCII digits (a sign, a space, nothing).
    #[error("{what} must be decimal digits only")]
    NotDecimal {
        /// `the ID` or `the namespace`.
        what: &'static str,
    },
    /// An ID or namespace above 2^63−1.
    #[error("{what} is above 9223372036854775807 (2^63-1)")]
    AboveU63 {
        /// `the ID` or `the namespace`.
        what: &'static str,
    },
    /// A delegated address without the `f` after its namespace.
    #[error("a delegated address is f4{{namespace}}f{{sub-address}}; the second `f` is missing")]
    NoSeparator,
    /// A character outside the lowercase base32 alphabet.
    #[error("{found:?} at byte {offset} of the payload is not base32 (a-z, 2-7)")]
    Base32Char {
        /// The byte offset in the text after the protocol (or after the
        /// second `f` of a delegated address), as go's base32 reports it.
        offset: usize,
        /// The character found there.
        found: char,
    },
    /// Base32 that does not re-encode to itself (a length that no byte
    /// string has, or stray trailing bits).
    #[error("non-canonical base32: {0}")]
    NonCanonical(String),
    /// Fewer bytes than the 4-byte checksum.
    #[error("the payload decodes to {0} bytes, fewer than its 4-byte checksum")]
    NoChecksum(usize),
    /// A secp256k1, actor or BLS payload of the wrong size.
    #[error("a {protocol} payload is {want} bytes; this one is {got}")]
    PayloadLength {
        /// `secp256k1`, `actor` or `BLS`.
        protocol: &'static str,
        /// The size the protocol has.
        want: usize,
        /// The size found.
        got: usize,
    },
    /// A delegated sub-address over 54 bytes.
    #[error("the sub-address is {0} bytes; at most 54")]
    SubaddressLength(usize),
    /// The checksum does not match (a typo, most likely).
    #[error("checksum mismatch")]
    Checksum,
    /// Refused by `fvm_shared` after passing the checks above; not expected.
    #[error("{0}")]
    Other(String),
}

impl AddressFault {
    /// The error go-address's `NewFromString` returns for this text, as its
    /// `Error()` prints it; `None` for [`AddressFault::Undef`], which
    /// go-address does not treat as an error.
    pub fn go_error(&self) -> Option<String> {
        let name = match self {
            Self::Undef => return None,
            Self::Length(_)
            | Self::TooManyDigits { .. }
            | Self::NoChecksum(_)
            | Self::PayloadLength { .. }
            | Self::SubaddressLength(_) => "invalid address length",
            Self::Network => "unknown address network",
            Self::Protocol => "unknown address protocol",
            Self::NotDecimal { .. }
            | Self::AboveU63 { .. }
            | Self::NoSeparator
            | Self::Other(_) => "invalid address payload",
            Self::Base32Char { offset, .. } => {
                return Some(format!("illegal base32 data at input byte {offset}"));
            }
            Self::NonCanonical(_) => "invalid encoding",
            Self::Checksum => "invalid address checksum",
        };
        Some(name.to_owned())
    }
}

/// Parses `text` as go-address's `NewFromString` does; both `f` and `t`
/// prefixes are accepted whatever the process-wide network.
pub fn parse(text: &str) -> Result<Address, AddressError> {
    decode(text).map_err(|reason| AddressError {
        input: text.to_owned(),
        reason,
    })
}

fn decode(text: &str) -> Result<Address, AddressFault> {
    if text.is_empty() || text == UNDEF {
        return Err(AddressFault::Undef);
    }
    let bytes = text.as_bytes();
    if !(3..=MAX_TEXT_LEN).contains(&bytes.len()) {
        return Err(AddressFault::Length(bytes.len()));
    }
    let network = match bytes[0] {
        b'f' => Network::Mainnet,
        b't' => Network::Testnet,
        _ => return Err(AddressFault::Network),
    };
    // Both leading bytes are ASCII once matched, so index 2 is a char boundary.
    let raw = &text[2..];
    match bytes[1] {
        b'0' => return Ok(Address::new_id(decimal_u63("the ID", raw)?)),
        b'1' => payload_length(raw, "secp256k1", 20)?,
        b'2' => payload_length(raw, "actor", 20)?,
        b'3' => payload_length(raw, "BLS", 48)?,
        b'4' => {
            let (namespace, sub) = raw.split_once('f').ok_or(AddressFault::NoSeparator)?;
            decimal_u63("the namespace", namespace)?;
            let len = without_checksum(sub)?;
            if len > MAX_SUBADDRESS_LEN {
                return Err(AddressFault::SubaddressLength(len));
            }
        }
        _ => return Err(AddressFault::Protocol),
    }
    network.parse_address(text).map_err(|e| match e {
        FvmError::InvalidChecksum => AddressFault::Checksum,
        FvmError::Base32Decoding(e) => AddressFault::NonCanonical(e.to_string()),
        other => AddressFault::Other(other.to_string()),
    })
}

/// An ID or namespace, as `strconv.ParseUint(s, 10, 63)` after go-address's
/// 19-character limit.
fn decimal_u63(what: &'static str, digits: &str) -> Result<u64, AddressFault> {
    if digits.len() > MAX_DIGITS {
        return Err(AddressFault::TooManyDigits {
            what,
            len: digits.len(),
        });
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AddressFault::NotDecimal { what });
    }
    // 19 digits cannot overflow a u64.
    let n = digits
        .bytes()
        .fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    if n > MAX_ID {
        return Err(AddressFault::AboveU63 { what });
    }
    Ok(n)
}

fn payload_length(raw: &str, protocol: &'static str, want: usize) -> Result<(), AddressFault> {
    let got = without_checksum(raw)?;
    if got != want {
        return Err(AddressFault::PayloadLength {
            protocol,
            want,
            got,
        });
    }
    Ok(())
}

/// The byte length `b32` decodes to, less the checksum; go's decoder drops a
/// partial last byte, and so does this count.
fn without_checksum(b32: &str) -> Result<usize, AddressFault> {
    if let Some(offset) = b32
        .bytes()
        .position(|b| !matches!(b, b'a'..=b'z' | b'2'..=b'7'))
    {
        // Every byte before `offset` is ASCII, so it is a char boundary.
        let found = b32[offset..].chars().next().unwrap_or_default();
        return Err(AddressFault::Base32Char { offset, found });
    }
    let decoded = b32.len() * 5 / 8;
    decoded
        .checked_sub(CHECKSUM_LEN)
        .ok_or(AddressFault::NoChecksum(decoded))
}

#[cfg(test)]
mod tests {
    //! Vectors from filecoin-project/go-address, address_test.go.

    use super::*;

    /// Lowercase unpadded base32, to build the vectors go-address encodes at
    /// test time.
    fn b32(data: &[u8]) -> String {
        const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
        let mut out = String::new();
        let (mut acc, mut bits) = (0u32, 0u32);
        for &b in data {
            acc = (acc << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
            }
        }
        if bits > 0 {
            out.push(char::from(ALPHABET[((acc << (5 - bits)) & 31) as usize]));
        }
        out
    }

    /// The address printed with `prefix`, whatever the process-wide network.
    fn print_with(prefix: char, a: &Address) -> String {
        let text = a.to_string();
        format!("{prefix}{}", &text[1..])
    }

    /// Parses on `t` and `f`, and prints back the same text.
    fn round_trip(text: &str) -> Address {
        let a = parse(text).unwrap_or_else(|e| panic!("{e}"));
        let prefix = text.chars().next().unwrap();
        assert_eq!(print_with(prefix, &a), text);
        let other = if prefix == 'f' { 't' } else { 'f' };
        let other_text = format!("{other}{}", &text[1..]);
        assert_eq!(parse(&other_text).unwrap(), a, "{other_text}");
        a
    }

    // allTestAddresses, TestVectorsIDAddress, TestVectorSecp256k1Address,
    // TestVectorActorAddress, TestVectorBLSAddress.
    const VALID: &[&str] = &[
        "t00",
        "t01",
        "t010",
        "t0150",
        "t0499",
        "t01024",
        "t01729",
        "t0999999",
        "t09223372036854775807",
        "t15ihq5ibzwki2b4ep2f46avlkrqzhpqgtga7pdrq",
        "t12fiakbhe2gwd5cnmrenekasyn6v5tnaxaqizq6a",
        "t1wbxhu3ypkuo6eyp6hjx6davuelxaxrvwb2kuwva",
        "t1xtwapqc6nh4si2hcwpr3656iotzmlwumogqbuaa",
        "t1xcbgdhkgkwht3hrrnui3jdopeejsoatkzmoltqy",
        "t17uoq6tp427uzv7fztkbsnn64iwotfrristwpryy",
        "t24vg6ut43yw2h2jqydgbg2xq7x6f4kub3bg6as6i",
        "t25nml2cfbljvn4goqtclhifepvfnicv6g7mfmmvq",
        "t2nuqrg7vuysaue2pistjjnt3fadsdzvyuatqtfei",
        "t24dd4ox4c2vpf5vk5wkadgyyn6qtuvgcpxxon64a",
        "t2gfvuyh7v2sx3patm5k23wdzmhyhtmqctasbr23y",
        "t3vvmn62lofvhjd2ugzca6sof2j2ubwok6cj4xxbfzz4yuxfkgobpihhd2thlanmsh3w2ptld2gqkn2jvlss4a",
        "t3wmuu6crofhqmm3v4enos73okk2l366ck6yc4owxwbdtkmpk42ohkqxfitcpa57pjdcftql4tojda2poeruwa",
        "t3s2q2hzhkpiknjgmf4zq3ejab2rh62qbndueslmsdzervrhapxr7dftie4kpnpdiv2n6tvkr743ndhrsw6d3a",
        "t3q22fijmmlckhl56rn5nkyamkph3mcfu5ed6dheq53c244hfmnq2i7efdma3cj5voxenwiummf2ajlsbxc65a",
        "t3u5zgwa4ael3vuocgc5mfgygo4yuqocrntuuhcklf4xzg5tcaqwbyfabxetwtj4tsam3pbhnwghyhijr5mixa",
        // TestTrailingBits, the good one.
        "f1xpbyy4tkdx5si2bgo37dubc2xwv6fum5tk57mia",
    ];

    #[test]
    fn go_address_vectors_round_trip_on_f_and_t() {
        for text in VALID {
            round_trip(text);
        }
    }

    #[test]
    fn go_address_id_vectors_have_their_ids() {
        for (id, text) in [
            (0, "t00"),
            (1, "t01"),
            (10, "t010"),
            (150, "t0150"),
            (499, "t0499"),
            (1024, "t01024"),
            (1729, "t01729"),
            (999_999, "t0999999"),
            (MAX_ID, "t09223372036854775807"),
        ] {
            assert_eq!(round_trip(text), Address::new_id(id));
        }
    }

    #[test]
    fn go_address_key_vectors_have_their_payloads() {
        // The first vector of TestVectorSecp256k1Address.
        let secp_pubkey = [
            4, 148, 2, 250, 195, 126, 100, 50, 164, 22, 163, 160, 202, 84, 38, 181, 24, 90, 179,
            178, 79, 97, 52, 239, 162, 92, 228, 135, 200, 45, 46, 78, 19, 191, 69, 37, 17, 224,
            210, 36, 84, 33, 248, 97, 59, 193, 13, 114, 250, 33, 102, 102, 169, 108, 59, 193, 57,
            32, 211, 255, 35, 63, 208, 188, 5,
        ];
        assert_eq!(
            round_trip("f15ihq5ibzwki2b4ep2f46avlkrqzhpqgtga7pdrq"),
            Address::new_secp256k1(&secp_pubkey).unwrap()
        );
        // The first vector of TestVectorActorAddress.
        let actor_data = [
            118, 18, 129, 144, 205, 240, 104, 209, 65, 128, 68, 172, 192, 62, 11, 103, 129, 151,
            13, 96,
        ];
        assert_eq!(
            round_trip("f24vg6ut43yw2h2jqydgbg2xq7x6f4kub3bg6as6i"),
            Address::new_actor(&actor_data)
        );
        // The first vector of TestVectorBLSAddress.
        let bls_pubkey = [
            173, 88, 223, 105, 110, 45, 78, 145, 234, 134, 200, 129, 233, 56, 186, 78, 168, 27, 57,
            94, 18, 121, 123, 132, 185, 207, 49, 75, 149, 70, 112, 94, 131, 156, 122, 153, 214, 6,
            178, 71, 221, 180, 249, 172, 122, 52, 20, 221,
        ];
        assert_eq!(
            round_trip(
                "f3vvmn62lofvhjd2ugzca6sof2j2ubwok6cj4xxbfzz4yuxfkgobpihhd2thlanmsh3w2ptld2gqkn2jvlss4a"
            ),
            Address::new_bls(&bls_pubkey).unwrap()
        );
    }

    #[test]
    fn go_address_delegated_vectors() {
        // TestDelegatedAddress.
        for (namespace, sub, text) in [
            (32, vec![0xff; 5], "f432f77777777x32lpna"),
            (MAX_ID, vec![], "f49223372036854775807fiic6zsy"),
            (
                MAX_ID,
                vec![0; MAX_SUBADDRESS_LEN],
                "f49223372036854775807faaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahwgiuam",
            ),
        ] {
            assert!(text.len() <= MAX_TEXT_LEN, "{text}");
            assert_eq!(
                round_trip(text),
                Address::new_delegated(namespace, &sub).unwrap(),
                "{text}"
            );
        }
        // One byte over the sub-address limit (TestInvalidByteAddresses has
        // the same limit on bytes).
        let too_long = format!("f410f{}", b32(&[0; MAX_SUBADDRESS_LEN + 1 + CHECKSUM_LEN]));
        let e = parse(&too_long).unwrap_err();
        assert_eq!(e.reason, AddressFault::SubaddressLength(55));
        assert_eq!(e.reason.go_error().unwrap(), "invalid address length");
    }

    /// The ID limit of TestIDMax, on both networks.
    #[test]
    fn id_above_2_pow_63_minus_1_is_refused() {
        for prefix in ["f0", "t0"] {
            let max = format!("{prefix}9223372036854775807");
            assert_eq!(parse(&max).unwrap().id(), Ok(MAX_ID));
            let over = format!("{prefix}9223372036854775808");
            let e = parse(&over).unwrap_err();
            assert_eq!(e.reason, AddressFault::AboveU63 { what: "the ID" });
            assert_eq!(e.reason.go_error().unwrap(), "invalid address payload");
            assert_eq!(
                e.to_string(),
                format!("invalid address \"{over}\": the ID is above 9223372036854775807 (2^63-1)")
            );
            let u64_max = format!("{prefix}18446744073709551615");
            assert_eq!(
                parse(&u64_max).unwrap_err().reason,
                AddressFault::TooManyDigits {
                    what: "the ID",
                    len: 20
                }
            );
        }
        let ns_over = "f49223372036854775808fiic6zsy";
        assert_eq!(
            parse(ns_over).unwrap_err().reason,
            AddressFault::AboveU63 {
                what: "the namespace"
            }
        );
    }

    /// TestInvalidStringAddresses and TestTrailingBits, with the error
    /// go-address returns for each.
    #[test]
    fn go_address_invalid_vectors() {
        let a = |n: usize| b32(&vec![b'a'; n]);
        let cases: Vec<(String, &str)> = vec![
            (
                "Q2gfvuyh7v2sx3patm5k23wdzmhyhtmqctasbr23y".into(),
                "unknown address network",
            ),
            (
                "t5gfvuyh7v2sx3patm5k23wdzmhyhtmqctasbr23y".into(),
                "unknown address protocol",
            ),
            (
                "t2gfvuyh7v2sx3patm5k23wdzmhyhtmqctasbr24y".into(),
                "invalid address checksum",
            ),
            ("t0banananananannnnnnnnn".into(), "invalid address length"),
            ("t0banananananannnnnnn".into(), "invalid address payload"),
            (
                "t2gfvuyh7v2sx3patm1k23wdzmhyhtmqctasbr24y".into(),
                "illegal base32 data at input byte 16",
            ),
            (
                "t2gfvuyh7v2sx3paTm1k23wdzmhyhtmqctasbr24y".into(),
                "illegal base32 data at input byte 14",
            ),
            ("t2".into(), "invalid address length"),
            ("t1234q".into(), "invalid address length"),
            ("a".repeat(MAX_TEXT_LEN + 1), "invalid address length"),
            ("t".into(), "invalid address length"),
            ("t0".into(), "invalid address length"),
            (format!("t0{}", "a".repeat(19)), "invalid address payload"),
            (format!("t0{}", "a".repeat(20)), "invalid address length"),
            (format!("t1{}", a(24)), "invalid address checksum"),
            (format!("t1{}", a(25)), "invalid address length"),
            (format!("t1{}", a(23)), "invalid address length"),
            (format!("t2{}", a(24)), "invalid address checksum"),
            (format!("t2{}", a(25)), "invalid address length"),
            (format!("t2{}", a(23)), "invalid address length"),
            (format!("t3{}", a(52)), "invalid address checksum"),
            (format!("t3{}", a(53)), "invalid address length"),
            (format!("t3{}", a(51)), "invalid address length"),
            // TestTrailingBits, the bad one.
            (
                "f1xpbyy4tkdx5si2bgo37dubc2xwv6fum5tk57mid".into(),
                "invalid encoding",
            ),
        ];
        for (text, go_error) in cases {
            let e = parse(&text).expect_err(&text);
            assert_eq!(
                e.reason.go_error().as_deref(),
                Some(go_error),
                "{text}: {e}"
            );
        }
    }

    /// Edges go-address's rules imply that its tests do not spell out.
    #[test]
    fn edges_follow_strconv_and_go_base32() {
        // ParseUint takes leading zeros and no sign.
        assert_eq!(parse("f0007").unwrap(), Address::new_id(7));
        assert_eq!(
            parse("f00009223372036854775807")
                .unwrap_err()
                .reason
                .go_error()
                .unwrap(),
            "invalid address length"
        );
        for text in ["f0+1", "f0-1", "f0 1", "f01 ", "f0١"] {
            let fault = parse(text).unwrap_err().reason;
            assert_eq!(fault, AddressFault::NotDecimal { what: "the ID" }, "{text}");
        }
        // Case matters, and nothing is trimmed.
        for text in ["F01", " f01", "T01"] {
            assert_eq!(
                parse(text).unwrap_err().reason,
                AddressFault::Network,
                "{text}"
            );
        }
        assert_eq!(
            parse("f15IHQ5IBZWKI2B4EP2F46AVLKRQZHPQGTGA7PDRQ")
                .unwrap_err()
                .reason,
            AddressFault::Base32Char {
                offset: 1,
                found: 'I'
            }
        );
        assert_eq!(parse("f5aaa").unwrap_err().reason, AddressFault::Protocol);
        assert_eq!(parse("fxaaa").unwrap_err().reason, AddressFault::Protocol);
        assert_eq!(parse("é01").unwrap_err().reason, AddressFault::Network);
        // A delegated address needs a namespace and the `f` after it.
        assert_eq!(parse("f410").unwrap_err().reason, AddressFault::NoSeparator);
        assert_eq!(
            parse("f4fiic6zsy").unwrap_err().reason,
            AddressFault::NotDecimal {
                what: "the namespace"
            }
        );
        assert_eq!(
            parse("f410f").unwrap_err().reason,
            AddressFault::NoChecksum(0)
        );
        // "" and "<empty>" are go-address's Undef.
        for text in ["", "<empty>"] {
            let fault = parse(text).unwrap_err().reason;
            assert_eq!(fault, AddressFault::Undef);
            assert_eq!(fault.go_error(), None);
        }
    }

    /// What `fvm_shared` alone gets wrong, and the reason this module exists.
    /// If an upgrade makes one of these fail, the wrapper can shrink.
    #[test]
    fn fvm_shared_alone_diverges_from_go_address() {
        use std::str::FromStr;
        let mainnet = |t: &str| Network::Mainnet.parse_address(t);
        assert!(mainnet("f09223372036854775808").is_ok());
        assert!(mainnet("f018446744073709551615").is_ok());
        assert!(mainnet("f0+1").is_ok());
        assert!(mainnet("f000000000000000000001").is_ok());
        // The process-wide network decides which prefix `FromStr` takes.
        let f = Address::from_str("f01").is_ok();
        let t = Address::from_str("t01").is_ok();
        assert!(f != t);
        for text in [
            "f09223372036854775808",
            "f018446744073709551615",
            "f0+1",
            "f000000000000000000001",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }
}
