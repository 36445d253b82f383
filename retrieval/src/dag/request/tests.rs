use super::*;

const CAR_DFS: &str = "application/vnd.ipld.car; version=1; order=dfs; dups=n";

fn parse(accept: Option<&str>, query: &str, path: &str) -> Result<GatewayRequest, RequestError> {
    parse_request(accept, query, path)
}

#[test]
fn format_in_the_query_wins_over_accept() {
    let r = parse(Some("application/vnd.ipld.raw"), "format=car", "").unwrap();
    assert_eq!(r.format, ResponseFormat::Car);
    assert!(r.format_in_query);
    let r = parse(Some(CAR_DFS), "format=raw", "").unwrap();
    assert_eq!(r.format, ResponseFormat::Raw);
}

#[test]
fn accept_alone_selects_the_format() {
    let r = parse(Some(CAR_DFS), "", "/a").unwrap();
    assert_eq!(r.format, ResponseFormat::Car);
    assert!(!r.format_in_query);
    assert_eq!(r.path, vec!["a".to_owned()]);
    assert_eq!(r.scope, DagScope::All, "the default scope");
    assert_eq!(r.entity_bytes, None);
}

#[test]
fn an_unserved_format_and_no_format_are_400() {
    for format in ["tar", "dag-json", "ipns-record", ""] {
        let err = parse(None, &format!("format={format}"), "").unwrap_err();
        assert_eq!(err, RequestError::UnsupportedFormat(format.to_owned()));
        assert_eq!(err.http_status(), 400);
    }
    assert_eq!(parse(None, "", ""), Err(RequestError::NoTrustlessFormat));
    assert_eq!(
        parse(Some("text/html"), "dag-scope=all", ""),
        Err(RequestError::NoTrustlessFormat)
    );
}

#[test]
fn scopes_and_entity_bytes_parse() {
    for (query, scope) in [
        ("format=car&dag-scope=block", DagScope::Block),
        ("format=car&dag-scope=entity", DagScope::Entity),
        ("format=car&dag-scope=all", DagScope::All),
        ("format=car", DagScope::All),
    ] {
        assert_eq!(parse(None, query, "").unwrap().scope, scope, "{query}");
    }
    let r = parse(None, "format=car&entity-bytes=-1024:*", "").unwrap();
    assert_eq!(r.scope, DagScope::Entity, "entity-bytes implies entity");
    assert_eq!(
        r.entity_bytes,
        Some(EntityBytes {
            from: -1024,
            to: RangeEnd::End
        })
    );
    let r = parse(None, "format=car&dag-scope=entity&entity-bytes=0%3A99", "").unwrap();
    assert_eq!(
        r.entity_bytes,
        Some(EntityBytes {
            from: 0,
            to: RangeEnd::At(99)
        }),
        "an encoded colon decodes"
    );
}

#[test]
fn each_bad_car_parameter_has_its_error() {
    let cases = [
        (
            "format=car&dag-scope=everything",
            RequestError::InvalidDagScope("everything".into()),
        ),
        (
            "format=car&dag-scope=",
            RequestError::InvalidDagScope("".into()),
        ),
        (
            "format=car&entity-bytes=5:1",
            RequestError::InvalidEntityBytes {
                value: "5:1".into(),
                reason: "to is before from",
            },
        ),
        (
            "format=car&dag-scope=all&entity-bytes=0:1",
            RequestError::ScopeConflict(DagScope::All),
        ),
        (
            "format=car&dag-scope=block&entity-bytes=0:1",
            RequestError::ScopeConflict(DagScope::Block),
        ),
        (
            "format=car&car-version=2",
            RequestError::UnsupportedCarVariant {
                param: "version",
                value: "2".into(),
            },
        ),
        (
            "format=car&car-order=bfs",
            RequestError::UnsupportedCarVariant {
                param: "order",
                value: "bfs".into(),
            },
        ),
        (
            "format=car&car-dups=y",
            RequestError::UnsupportedCarVariant {
                param: "dups",
                value: "y".into(),
            },
        ),
        (
            "format=car&format=raw",
            RequestError::DuplicateParameter("format".into()),
        ),
        (
            "format=car&dag-scope=all&dag-scope=all",
            RequestError::DuplicateParameter("dag-scope".into()),
        ),
        (
            "format=car&dag-scope=%FF",
            RequestError::InvalidQuery("%FF".into()),
        ),
    ];
    for (query, expected) in cases {
        let err = parse(None, query, "").unwrap_err();
        assert_eq!(err, expected, "{query}");
        assert_eq!(err.http_status(), 400, "{query}");
    }
}

#[test]
fn car_parameters_in_the_query_win_over_accept() {
    let dups_y = Some("application/vnd.ipld.car; dups=y");
    let err = parse(dups_y, "format=car", "").unwrap_err();
    assert_eq!(
        err,
        RequestError::UnsupportedCarVariant {
            param: "dups",
            value: "y".into()
        },
        "with format=car, Accept's unservable dups is still refused"
    );
    assert!(parse(dups_y, "format=car&car-dups=n", "").is_ok());
    assert!(parse(Some(CAR_DFS), "format=car&car-order=unk", "").is_ok());
    assert!(matches!(
        parse(dups_y, "", ""),
        Err(RequestError::NotAcceptable { .. })
    ));
}

#[test]
fn raw_blocks_take_no_path_and_no_car_parameters() {
    assert_eq!(
        parse(None, "format=raw", "/a"),
        Err(RequestError::PathOnRawBlock)
    );
    assert!(
        parse(None, "format=raw", "/").is_ok(),
        "a bare trailing slash is no path"
    );
    for (param, query) in [
        ("dag-scope", "format=raw&dag-scope=all"),
        ("entity-bytes", "format=raw&entity-bytes=0:1"),
        ("car-version", "format=raw&car-version=1"),
        ("car-order", "format=raw&car-order=dfs"),
        ("car-dups", "format=raw&car-dups=n"),
    ] {
        assert_eq!(
            parse(None, query, ""),
            Err(RequestError::CarOnlyParameter(param))
        );
    }
}

#[test]
fn unknown_parameters_are_ignored_and_bad_paths_refused() {
    let r = parse(None, "filename=x.car&download=true&format=car&&", "/a/b/").unwrap();
    assert_eq!(r.path, vec!["a".to_owned(), "b".to_owned()]);
    assert!(matches!(
        parse(None, "format=car", "/a/../b"),
        Err(RequestError::InvalidPath { .. })
    ));
}
