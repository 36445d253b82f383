//! The dashboards and alert rules against a real Prometheus (Debian's
//! `prometheus` package: `prometheus` and `promtool`). A Prometheus started
//! here scrapes a running `ferrite devnet` every second and loads the repo's
//! rule files; then every expression of every dashboard panel, template
//! variable and rule must be valid PromQL, and every metric it names must be
//! in Prometheus after the scrape. `promtool` checks the rule files and the
//! scrape configs.
//!
//! The structural checks (each dashboard has the `datasource` and `instance`
//! variables, and every panel and selector uses them) need no Prometheus.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The selector matcher every dashboard expression carries on each metric.
const INSTANCE_MATCHER: &str = r#"instance=~"$instance""#;

/// Grafana's variables and what the expressions run with here: the
/// `instance` variable's "All" value, and a minute for the intervals.
/// Longest first, so `$__range_s` is not read as `$__range` + `_s`.
const SUBSTITUTIONS: &[(&str, &str)] = &[
    ("${__rate_interval}", "1m"),
    ("$__rate_interval", "1m"),
    ("${__interval_ms}", "60000"),
    ("$__interval_ms", "60000"),
    ("${__interval}", "1m"),
    ("$__interval", "1m"),
    ("${__range_ms}", "3600000"),
    ("$__range_ms", "3600000"),
    ("${__range_s}", "3600"),
    ("$__range_s", "3600"),
    ("${__range}", "1h"),
    ("$__range", "1h"),
    ("${instance}", ".*"),
    ("$instance", ".*"),
];

/// Fails, naming the package, when `prometheus` or `promtool` is missing:
/// the sealing test calls it before it seals, so the failure comes first.
pub fn require_installed() {
    for tool in ["prometheus", "promtool"] {
        match Command::new(tool).arg("--version").output() {
            Ok(o) if o.status.success() => {}
            Ok(o) => panic!(
                "`{tool} --version` failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => panic!(
                "`{tool}` is not on the PATH ({e}): install Debian's `prometheus` package \
                 (`apt-get install prometheus`; .ci/run installs it)"
            ),
        }
    }
}

fn dashboards_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dashboards")
}

/// The files in `dir` whose names end in `suffix`, sorted.
fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(suffix)))
        .collect();
    out.sort();
    out
}

fn rule_files() -> Vec<PathBuf> {
    files(&dashboards_dir().join("prometheus"), ".rules.yml")
}

/// Every Grafana dashboard, parsed, with its file name.
fn dashboards() -> Vec<(String, Value)> {
    files(&dashboards_dir().join("grafana"), ".json")
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let body = std::fs::read_to_string(&p).unwrap();
            let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("parse {name}: {e}"));
            (name, v)
        })
        .collect()
}

/// A dashboard's panels in order, those inside rows included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for p in list.as_array().into_iter().flatten() {
            out.push(p);
            walk(&p["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// A PromQL expression and where it comes from.
#[derive(Debug)]
pub struct Query {
    pub origin: String,
    pub expr: String,
}

/// Every panel target's expression, as written.
fn panel_queries() -> Vec<Query> {
    let mut out = Vec::new();
    for (name, d) in dashboards() {
        for p in panels(&d) {
            for t in p["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = t["expr"].as_str() {
                    out.push(Query {
                        origin: format!("{name}: {}", p["title"].as_str().unwrap_or("?")),
                        expr: expr.to_string(),
                    });
                }
            }
        }
    }
    out
}

/// `expr` with Grafana's variables replaced by values Prometheus can run.
/// A variable this does not know fails the test, rather than a query that
/// means something else.
pub fn substitute(origin: &str, expr: &str) -> String {
    let mut out = expr.to_string();
    for (var, value) in SUBSTITUTIONS {
        out = out.replace(var, value);
    }
    let left = out.char_indices().any(|(i, c)| {
        c == '$'
            && out[i + 1..].starts_with(|n: char| n == '{' || n == '_' || n.is_ascii_alphabetic())
    });
    assert!(
        !left,
        "{origin}: a Grafana variable the test does not know in {expr}; add it to SUBSTITUTIONS"
    );
    out
}

/// A vector selector: its metric name, and the text between its braces.
#[derive(Debug, PartialEq)]
pub struct Selector {
    pub metric: String,
    pub matchers: Option<String>,
}

/// Words that are never a metric name where they stand: binary operators,
/// modifiers and aggregation operators (these take `by`/`without` before
/// their parenthesis, so they are not always followed by one).
const NOT_METRICS: &[&str] = &[
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "inf",
    "nan",
    "atan2",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];
/// Modifiers followed by a list of label names.
const GROUPING: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// The index just past the string literal that opens at `i`.
fn skip_string(c: &[char], mut i: usize) -> usize {
    let quote = c[i];
    i += 1;
    while i < c.len() && c[i] != quote {
        if c[i] == '\\' {
            i += 1;
        }
        i += 1;
    }
    (i + 1).min(c.len())
}

/// The index just past `close`, from the bracket that opens at `i`.
fn skip_block(c: &[char], mut i: usize, close: char) -> usize {
    i += 1;
    while i < c.len() && c[i] != close {
        if matches!(c[i], '"' | '\'' | '`') {
            i = skip_string(c, i);
        } else {
            i += 1;
        }
    }
    (i + 1).min(c.len())
}

/// The vector selectors of a PromQL expression: the identifiers outside
/// strings, label matchers `{...}`, ranges `[...]` and label lists
/// (`by (...)`, `on (...)`, ...) that are neither a function (followed by
/// `(`), nor an operator or keyword, nor part of a number or duration.
pub fn selectors(expr: &str) -> Vec<Selector> {
    let c: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if matches!(ch, '"' | '\'' | '`') {
            i = skip_string(&c, i);
        } else if ch == '{' {
            i = skip_block(&c, i, '}');
        } else if ch == '[' {
            i = skip_block(&c, i, ']');
        } else if ch == '#' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch.is_ascii_digit() || ch == '.' {
            while i < c.len() && (c[i].is_ascii_alphanumeric() || matches!(c[i], '.' | '_')) {
                i += 1;
            }
        } else if ch.is_ascii_alphabetic() || matches!(ch, '_' | ':') {
            let start = i;
            while i < c.len() && (c[i].is_ascii_alphanumeric() || matches!(c[i], '_' | ':')) {
                i += 1;
            }
            let ident: String = c[start..i].iter().collect();
            let word = ident.to_ascii_lowercase();
            let mut k = i;
            while k < c.len() && c[k].is_whitespace() {
                k += 1;
            }
            let next = c.get(k).copied();
            if GROUPING.contains(&word.as_str()) {
                if next == Some('(') {
                    i = skip_block(&c, k, ')');
                }
            } else if !NOT_METRICS.contains(&word.as_str()) && next != Some('(') {
                let matchers = (next == Some('{')).then(|| {
                    let end = skip_block(&c, k, '}');
                    let inner: String = c[k + 1..end.saturating_sub(1).max(k + 1)].iter().collect();
                    i = end;
                    inner
                });
                out.push(Selector {
                    metric: ident,
                    matchers,
                });
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The metric names an expression reads, each once.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    selectors(expr).into_iter().map(|s| s.metric).collect()
}

/// `label_values(METRIC, LABEL)`: a query variable's metric and label.
fn label_values(query: &str) -> Option<(String, String)> {
    let args = query
        .trim()
        .strip_prefix("label_values(")?
        .strip_suffix(')')?;
    let (metric, label) = args.split_once(',')?;
    Some((metric.trim().to_string(), label.trim().to_string()))
}

/// A query variable's query, a string or (newer Grafana) `{ "query": ... }`.
fn variable_query(v: &Value) -> Option<&str> {
    v["query"].as_str().or_else(|| v["query"]["query"].as_str())
}

/// Each dashboard has a `datasource` variable (type datasource, Prometheus)
/// and an `instance` variable (`label_values(METRIC, instance)`, over that
/// data source); each panel that queries and each of its targets uses
/// `${datasource}`, and each selector carries `instance=~"$instance"`.
pub fn check_dashboard_variables() -> usize {
    let uses_variable = |v: &Value| v["uid"].as_str() == Some("${datasource}");
    let mut selectors_checked = 0;
    let all = dashboards();
    assert!(all.len() >= 6, "only {} dashboards", all.len());
    for (name, d) in &all {
        let vars = d["templating"]["list"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let var = |n: &str| vars.iter().find(|v| v["name"] == n).cloned();
        let ds = var("datasource").unwrap_or_else(|| panic!("{name}: no `datasource` variable"));
        assert_eq!(ds["type"], "datasource", "{name}: {ds}");
        assert_eq!(ds["query"], "prometheus", "{name}: {ds}");
        let inst = var("instance").unwrap_or_else(|| panic!("{name}: no `instance` variable"));
        assert_eq!(inst["type"], "query", "{name}: {inst}");
        assert!(uses_variable(&inst["datasource"]), "{name}: {inst}");
        let (_, label) = variable_query(&inst)
            .and_then(label_values)
            .unwrap_or_else(|| {
                panic!("{name}: the instance variable is not label_values(M, instance): {inst}")
            });
        assert_eq!(label, "instance", "{name}: {inst}");
        for p in panels(d) {
            let title = p["title"].as_str().unwrap_or("?");
            let Some(targets) = p["targets"].as_array() else {
                continue;
            };
            assert!(
                uses_variable(&p["datasource"]),
                "{name}: panel {title:?} does not use ${{datasource}}: {}",
                p["datasource"]
            );
            for t in targets {
                assert!(
                    uses_variable(&t["datasource"]),
                    "{name}: a target of {title:?} does not use ${{datasource}}: {t}"
                );
                let expr = t["expr"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: a target of {title:?} has no expr"));
                let sels = selectors(expr);
                assert!(
                    !sels.is_empty(),
                    "{name}: {title:?} selects nothing: {expr}"
                );
                for s in sels {
                    let m = s.matchers.as_deref().unwrap_or("");
                    assert!(
                        m.split(',').any(|x| x.trim() == INSTANCE_MATCHER),
                        "{name}: {title:?}: {} has no {INSTANCE_MATCHER}: {expr}",
                        s.metric
                    );
                    selectors_checked += 1;
                }
            }
        }
    }
    selectors_checked
}

/// A Prometheus this test started, killed when it is dropped (the test
/// passed or panicked). Its data and log live in a temporary directory.
pub struct Prometheus {
    child: Child,
    pub addr: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Starts Prometheus on a free loopback port with `config` and waits
    /// until it is ready. Another process may take the free port before
    /// Prometheus binds it: then it tries another, three times in all.
    fn start(config: &str) -> Self {
        let mut attempt = 1;
        loop {
            match Self::try_start(config) {
                Ok(p) => return p,
                Err(log) if attempt < 3 && log.contains("address already in use") => attempt += 1,
                Err(log) => panic!("prometheus did not start:\n{log}"),
            }
        }
    }

    /// One start, in a new temporary directory (config, data, log): the
    /// ready Prometheus, or the tail of its log when it exited first.
    fn try_start(config: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let log = dir.path().join("prometheus.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("start prometheus ({e}): install Debian's `prometheus` package")
            });
        let mut p = Self {
            child,
            addr,
            log,
            _dir: dir,
        };
        let started = Instant::now();
        loop {
            if let Ok((200, _)) = try_get(&p.addr, "/-/ready") {
                return Ok(p);
            }
            if let Some(status) = p.child.try_wait().unwrap() {
                return Err(format!("exited ({status}):\n{}", p.log_tail()));
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "prometheus not ready after 60 s:\n{}",
                p.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// `GET path` on the HTTP API: the JSON answer, whose status must be
    /// "success".
    fn api(&self, path: &str) -> Value {
        let (code, body) = try_get(&self.addr, path)
            .unwrap_or_else(|e| panic!("GET {path} from prometheus: {e}\n{}", self.log_tail()));
        let v: Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("GET {path}: HTTP {code}, not JSON ({e}): {body}"));
        assert_eq!(v["status"], "success", "GET {path}: HTTP {code}: {v}");
        v
    }
}

/// `GET target` over HTTP/1.0 (so the answer is neither chunked nor kept
/// alive): the status code and the body.
fn try_get(addr: &str, target: &str) -> std::io::Result<(u16, String)> {
    let mut conn = TcpStream::connect(addr)?;
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(conn, "GET {target} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, body.to_string()))
}

/// Percent-encodes a query parameter's value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Runs `promtool ARGS`; it must succeed.
fn promtool(args: &[&str], files: &[PathBuf]) {
    let out = Command::new("promtool")
        .args(args)
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("run promtool ({e}): install Debian's `prometheus` package"));
    assert!(
        out.status.success(),
        "promtool {args:?} {files:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A scrape config for one node at `target`, every second, with the repo's
/// rule files (evaluated every second too).
fn scrape_config(target: &str) -> String {
    let rules: String = rule_files()
        .iter()
        .map(|p| format!("  - {}\n", p.canonicalize().unwrap().display()))
        .collect();
    format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n{rules}\
         scrape_configs:\n  - job_name: ferrite\n    metrics_path: /metrics\n    \
         static_configs:\n      - targets: [\"{target}\"]\n"
    )
}

/// Polls `check` every 200 ms until it gives a value, for at most `limit`;
/// then fails with `what` and the last state `check` described.
fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let started = Instant::now();
    loop {
        match check() {
            Ok(v) => return v,
            Err(last) if started.elapsed() > limit => {
                panic!("{what}: not after {} s; last: {last}", limit.as_secs())
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// The whole check against the devnet running in `home` (see the module
/// doc). Prints what it checked.
pub fn dashboards_and_rules_run_on_prometheus(home: &Path) {
    let started = Instant::now();
    let api = std::fs::read_to_string(home.join("api")).unwrap();
    let node = api
        .trim()
        .trim_start_matches("http://")
        .trim_end_matches("/rpc/v1")
        .to_string();

    // The files, before anything runs.
    let rules = rule_files();
    assert!(rules.len() >= 5, "only {} rule files", rules.len());
    promtool(&["check", "rules"], &rules);
    let repo_config = dashboards_dir().join("prometheus/prometheus.yml");
    let listed = std::fs::read_to_string(&repo_config).unwrap();
    for r in &rules {
        let name = r.file_name().unwrap().to_string_lossy();
        assert!(
            listed.contains(&*name),
            "{} does not list {name}",
            repo_config.display()
        );
    }
    promtool(&["check", "config"], &[repo_config]);
    let config = scrape_config(&node);
    let generated = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(generated.path(), &config).unwrap();
    promtool(&["check", "config"], &[generated.path().to_path_buf()]);

    let prom = Prometheus::start(&config);
    wait_for(
        Duration::from_secs(60),
        "a successful scrape of the node",
        || {
            let v = prom.api("/api/v1/targets");
            let t = &v["data"]["activeTargets"][0];
            if t["health"] == "up" {
                Ok(())
            } else {
                Err(format!("{t}"))
            }
        },
    );
    // Every rule evaluated at least once (health leaves "unknown").
    let expected_rules: usize = rules
        .iter()
        .map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .filter(|l| l.trim_start().starts_with("expr:"))
                .count()
        })
        .sum();
    let loaded = wait_for(Duration::from_secs(60), "every rule evaluated", || {
        let v = prom.api("/api/v1/rules");
        let rules: Vec<Value> = v["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        let pending = rules.iter().filter(|r| r["health"] == "unknown").count();
        if rules.len() == expected_rules && pending == 0 {
            Ok(rules)
        } else {
            Err(format!(
                "{} of {expected_rules} rules loaded, {pending} not evaluated",
                rules.len()
            ))
        }
    });
    let names: BTreeSet<String> = prom.api("/api/v1/label/__name__/values")["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect();

    let mut checked: BTreeSet<String> = BTreeSet::new();
    let mut queries = Vec::new();
    for r in &loaded {
        let name = r["name"].as_str().unwrap_or("?");
        assert_eq!(
            r["health"], "ok",
            "rule {name} failed to evaluate: {}",
            r["lastError"]
        );
        queries.push(Query {
            origin: format!("rule {name}"),
            expr: r["query"].as_str().unwrap().to_string(),
        });
    }
    let rule_count = queries.len();
    for q in panel_queries() {
        let expr = substitute(&q.origin, &q.expr);
        queries.push(Query {
            origin: q.origin,
            expr,
        });
    }
    let panel_count = queries.len() - rule_count;
    let mut with_data = 0;
    for q in &queries {
        let v = prom.api(&format!("/api/v1/query?query={}", encode(&q.expr)));
        if v["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
        {
            with_data += 1;
        }
        let used = metric_names(&q.expr);
        assert!(!used.is_empty(), "{}: no metric in {}", q.origin, q.expr);
        for m in used {
            // The mining loop runs on `ferrite run` only, not on this
            // devnet: run.rs checks that node exports these.
            if m.starts_with("ferrite_mining_") {
                continue;
            }
            assert!(
                names.contains(&m),
                "{}: {m} is not in Prometheus after a scrape of the node (the node must \
                 export it, at zero if nothing happened yet): {}",
                q.origin,
                q.expr
            );
            checked.insert(m);
        }
    }

    // The template variables: label_values(METRIC, LABEL) finds a value.
    let mut variables = 0;
    for (name, d) in dashboards() {
        for v in d["templating"]["list"].as_array().into_iter().flatten() {
            let Some((metric, label)) = variable_query(v).and_then(label_values) else {
                continue;
            };
            let series = prom.api(&format!("/api/v1/series?match[]={}", encode(&metric)));
            assert!(
                series["data"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|x| x[&label].is_string())),
                "{name}: variable {}: no {metric} series with a {label} label: {series}",
                v["name"]
            );
            checked.insert(metric);
            variables += 1;
        }
    }

    // The build and process metrics have values that mean something.
    let info = prom.api("/api/v1/query?query=ferrite_build_info");
    let info = &info["data"]["result"][0]["metric"];
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"), "{info}");
    assert!(
        info["commit"].as_str().is_some_and(|c| !c.is_empty()),
        "{info}"
    );
    assert!(
        info["features"].as_str().is_some_and(|f| !f.is_empty()),
        "{info}"
    );
    let rss = prom.api("/api/v1/query?query=process_resident_memory_bytes");
    let rss: f64 = rss["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(rss > 1e6, "process_resident_memory_bytes = {rss}");

    println!(
        "prometheus: {} queries ({rule_count} rules, {panel_count} panel targets, {with_data} \
         with data now), {variables} template variables, {} metric names, in {:.1} s; \
         build {info}",
        queries.len(),
        checked.len(),
        started.elapsed().as_secs_f64()
    );
    for q in &queries {
        println!("  query  {}: {}", q.origin, q.expr);
    }
    for m in &checked {
        println!("  metric {m}");
    }
    assert!(rule_count >= 15, "only {rule_count} rules");
    assert!(panel_count >= 60, "only {panel_count} panel queries");
    assert!(checked.len() >= 25, "only {} metric names", checked.len());
}

#[test]
fn selectors_skip_functions_labels_and_keywords() {
    let s = selectors(
        r#"histogram_quantile(0.95, sum by (le, instance) (rate(a_bucket{x="b{c}", instance=~"$instance"}[5m] offset 1h))) > 10 and on (instance) b unless ignoring(job) group_left c:rule * 1e3"#,
    );
    let names: Vec<&str> = s.iter().map(|s| s.metric.as_str()).collect();
    assert_eq!(names, ["a_bucket", "b", "c:rule"]);
    assert_eq!(
        s[0].matchers.as_deref(),
        Some(r#"x="b{c}", instance=~"$instance""#)
    );
    assert_eq!(s[1].matchers, None);
    let names = metric_names("sum(x) or vector(0) and time() - y {a=\"1\"}");
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["x", "y"]);
    assert_eq!(
        substitute("t", r#"rate(m{instance=~"$instance"}[$__rate_interval])"#),
        r#"rate(m{instance=~".*"}[1m])"#
    );
}

#[test]
#[should_panic(expected = "a Grafana variable the test does not know")]
fn an_unknown_variable_fails_the_check() {
    substitute("t", "rate(m{job=~\"$job\"}[5m])");
}
