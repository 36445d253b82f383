//! Content negotiation over `Accept` (RFC 9110 §12.5.1) for the two
//! trustless types, with the CAR parameters of IPIP-412.
//!
//! `*/*` and `application/*` do not select a trustless type: this gateway
//! serves nothing deserialized, so a client must name raw or CAR.

use super::{RequestError, ResponseFormat};

const RAW: &str = "application/vnd.ipld.raw";
const CAR: &str = "application/vnd.ipld.car";

/// The CAR parameters one `Accept` entry asked for.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct CarParams {
    pub version: Option<String>,
    pub order: Option<String>,
    pub dups: Option<String>,
}

/// One media range of an `Accept` header.
#[derive(Debug)]
struct Entry {
    media: String,
    q: Option<f32>,
    car: CarParams,
}

impl Entry {
    fn parse(range: &str) -> Self {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut entry = Entry {
            media,
            q: Some(1.0),
            car: CarParams::default(),
        };
        for param in parts {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            let value = value.trim().trim_matches('"').to_ascii_lowercase();
            match key.trim().to_ascii_lowercase().as_str() {
                // an unparsable or out-of-range weight makes the entry unusable
                "q" => entry.q = value.parse().ok().filter(|q| (0.0..=1.0).contains(q)),
                "version" => entry.car.version = Some(value),
                "order" => entry.car.order = Some(value),
                "dups" => entry.car.dups = Some(value),
                _ => {}
            }
        }
        entry
    }

    /// The format this entry selects, or why it selects none.
    fn servable(&self) -> Result<ResponseFormat, String> {
        let format = match self.media.as_str() {
            RAW => ResponseFormat::Raw,
            CAR => ResponseFormat::Car,
            _ => return Err(format!("{} is not a trustless type", self.media)),
        };
        match self.q {
            None => return Err(format!("{} has an invalid q-value", self.media)),
            Some(q) if q <= 0.0 => return Err(format!("{} has q=0", self.media)),
            Some(_) => {}
        }
        if format == ResponseFormat::Car {
            check_car_variant(
                self.car.version.as_deref(),
                self.car.order.as_deref(),
                self.car.dups.as_deref(),
            )
            .map_err(|e| e.to_string())?;
        }
        Ok(format)
    }

    fn is_trustless(&self) -> bool {
        self.media == RAW || self.media == CAR
    }
}

fn entries(accept: Option<&str>) -> Vec<Entry> {
    accept
        .unwrap_or("")
        .split(',')
        .filter(|r| !r.trim().is_empty())
        .map(Entry::parse)
        .collect()
}

/// The servable entry with the highest q-value (the first among equals).
fn best(entries: &[Entry]) -> Option<(&Entry, ResponseFormat)> {
    let mut best: Option<(&Entry, ResponseFormat)> = None;
    for entry in entries {
        if let Ok(format) = entry.servable()
            && best.is_none_or(|(b, _)| entry.q > b.q)
        {
            best = Some((entry, format));
        }
    }
    best
}

/// The response format `Accept` selects when the URL names none.
pub(super) fn negotiate(accept: Option<&str>) -> Result<ResponseFormat, RequestError> {
    let entries = entries(accept);
    if let Some((_, format)) = best(&entries) {
        return Ok(format);
    }
    let reasons: Vec<String> = entries
        .iter()
        .filter(|e| e.is_trustless())
        .filter_map(|e| e.servable().err())
        .collect();
    if reasons.is_empty() {
        return Err(RequestError::NoTrustlessFormat);
    }
    Err(RequestError::NotAcceptable {
        accept: accept.unwrap_or("").to_owned(),
        reason: reasons.join("; "),
    })
}

/// The CAR parameters `Accept` asks for: those of the best servable CAR entry,
/// else of the first CAR entry (so its unservable parameters are reported).
pub(super) fn car_params(accept: Option<&str>) -> CarParams {
    let entries = entries(accept);
    let cars: Vec<Entry> = entries.into_iter().filter(|e| e.media == CAR).collect();
    match best(&cars) {
        Some((entry, _)) => entry.car.clone(),
        None => cars.first().map(|e| e.car.clone()).unwrap_or_default(),
    }
}

/// Whether this gateway can serve the CAR variant: version 1, DFS order (what
/// `unk` also accepts), no duplicates. An empty value counts as absent.
pub(super) fn check_car_variant(
    version: Option<&str>,
    order: Option<&str>,
    dups: Option<&str>,
) -> Result<(), RequestError> {
    let refuse = |param, value: &str| {
        Err(RequestError::UnsupportedCarVariant {
            param,
            value: value.to_owned(),
        })
    };
    match version {
        None | Some("" | "1") => {}
        Some(v) => return refuse("version", v),
    }
    match order {
        None | Some("" | "dfs" | "unk") => {}
        Some(o) => return refuse("order", o),
    }
    match dups {
        None | Some("" | "n") => {}
        Some(d) => return refuse("dups", d),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_q_wins_and_the_first_among_equals() {
        let accept = "application/vnd.ipld.raw;q=0.5, application/vnd.ipld.car;q=0.9";
        assert_eq!(negotiate(Some(accept)), Ok(ResponseFormat::Car));
        let accept = "application/vnd.ipld.raw, application/vnd.ipld.car";
        assert_eq!(negotiate(Some(accept)), Ok(ResponseFormat::Raw));
        let accept = "text/html, application/vnd.ipld.car; version=1; order=dfs; dups=n";
        assert_eq!(negotiate(Some(accept)), Ok(ResponseFormat::Car));
    }

    #[test]
    fn an_unservable_car_variant_falls_back_to_the_next_entry() {
        // the spec's own example: a preferred unknown order, then dfs at q=0.5
        let accept =
            "application/vnd.ipld.car;order=foo, application/vnd.ipld.car;order=dfs;dups=n;q=0.5";
        assert_eq!(negotiate(Some(accept)), Ok(ResponseFormat::Car));
        assert_eq!(
            car_params(Some(accept)).order.as_deref(),
            Some("dfs"),
            "the parameters are those of the entry served"
        );
    }

    #[test]
    fn nothing_servable_is_406_with_each_reason() {
        let accept = "application/vnd.ipld.car; dups=y, application/vnd.ipld.raw;q=0";
        let err = negotiate(Some(accept)).unwrap_err();
        assert_eq!(err.http_status(), 406);
        let text = err.to_string();
        assert!(text.contains("dups=\"y\""), "{text}");
        assert!(text.contains("application/vnd.ipld.raw has q=0"), "{text}");

        let err = negotiate(Some("application/vnd.ipld.car; version=2")).unwrap_err();
        assert!(err.to_string().contains("version=\"2\""), "{err}");
        let err = negotiate(Some("application/vnd.ipld.raw; q=abc")).unwrap_err();
        assert!(err.to_string().contains("invalid q-value"), "{err}");
    }

    #[test]
    fn no_trustless_type_at_all_is_400() {
        for accept in [
            None,
            Some(""),
            Some("*/*"),
            Some("text/html, application/*"),
        ] {
            let err = negotiate(accept).unwrap_err();
            assert_eq!(err, RequestError::NoTrustlessFormat, "{accept:?}");
            assert_eq!(err.http_status(), 400);
        }
    }

    #[test]
    fn media_types_and_parameters_are_case_insensitive() {
        let accept = "Application/Vnd.Ipld.Car; Version=\"1\"; ORDER=DFS";
        assert_eq!(negotiate(Some(accept)), Ok(ResponseFormat::Car));
    }
}
