//! deploy/ as an operator installs it: the systemd units pass
//! `systemd-analyze verify`, every command line in the units and in
//! compose.yaml is one the built `ferrite` accepts, the example config loads,
//! and compose.yaml, its Prometheus config and the Containerfile agree with
//! each other and with the ports and paths the units use.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use yaml_rust2::{Yaml, YamlLoader};

/// Where the units and the Containerfile install the binary.
const INSTALLED_BIN: &str = "/usr/local/bin/ferrite";

/// The units the guide installs; a unit added to deploy/ is checked too.
const UNITS: [&str; 4] = [
    "ferrite.service",
    "ferrite-devnet.service",
    "ferrite-worker.service",
    "ferrite-worker@.service",
];

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn read(name: &str) -> String {
    let path = deploy_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every `*.service` file in deploy/, by name.
fn unit_files() -> BTreeMap<String, String> {
    let mut units = BTreeMap::new();
    for entry in std::fs::read_dir(deploy_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".service") {
            let text = read(&name);
            units.insert(name, text);
        }
    }
    for name in UNITS {
        assert!(units.contains_key(name), "deploy/{name} is missing");
    }
    units
}

fn systemd_analyze() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|dir| dir.join("systemd-analyze"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "systemd-analyze is not installed, and it is what checks the units in deploy/: \
                 install the Debian package `systemd` (apt-get install systemd; .ci/run does)"
            )
        })
}

/// `systemd-analyze verify` on `units` (paths); its whole output.
fn verify(units: &[PathBuf]) -> (Output, String) {
    let out = Command::new(systemd_analyze())
        .args(["verify", "--man=no"])
        .args(units)
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .unwrap();
    let text = format!("{}{}", stdout(&out), stderr(&out));
    (out, text)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs the built binary with no `FERRITE_*` variable from the caller (the
/// test scripts export some) and a fresh HOME.
fn ferrite(args: &[String], home: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrite"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("FERRITE_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(args).env("HOME", home).output().unwrap()
}

#[test]
fn units_pass_systemd_analyze_verify() {
    let units = unit_files();
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (name, text) in &units {
        // systemd-analyze checks that ExecStart's program exists: point the
        // copy at the binary under test.
        let exec = exec_start(text).unwrap_or_else(|| panic!("{name} has no ExecStart="));
        assert!(
            exec.starts_with(INSTALLED_BIN),
            "{name}: ExecStart runs {exec}, not {INSTALLED_BIN}"
        );
        let copy = dir.path().join(name);
        std::fs::write(
            &copy,
            text.replace(INSTALLED_BIN, env!("CARGO_BIN_EXE_ferrite")),
        )
        .unwrap();
        paths.push(copy);
        // A template is checked as written and as an instance of it.
        if let Some(stem) = name.strip_suffix("@.service") {
            paths.push(dir.path().join(format!("{stem}@gpu0.service")));
        }
    }
    let (out, report) = verify(&paths);
    assert!(
        out.status.success() && report.trim().is_empty(),
        "systemd-analyze verify {} reported (exit {:?}):\n{report}",
        units.keys().cloned().collect::<Vec<_>>().join(" "),
        out.status.code()
    );

    // The same check on a broken unit reports it: this systemd-analyze
    // reads the files and speaks up.
    let broken = dir.path().join("broken.service");
    std::fs::write(
        &broken,
        "[Service]\nExecStart=/nonexistent/ferrite run\nNoSuchSetting=yes\n",
    )
    .unwrap();
    let (out, report) = verify(&[broken]);
    assert!(!out.status.success(), "{report}");
    assert!(report.contains("NoSuchSetting"), "{report}");
    assert!(report.contains("/nonexistent/ferrite"), "{report}");
}

/// A unit's `ExecStart=` with its continuation lines joined.
fn exec_start(unit: &str) -> Option<String> {
    let joined = unit.replace("\\\n", " ");
    joined
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .map(|cmd| {
            cmd.trim_start_matches(['-', '@', ':', '+', '!'])
                .to_string()
        })
}

/// The variables a unit's header documents as an example (`#   NAME=value`).
fn documented_env(unit: &str) -> BTreeMap<String, String> {
    unit.lines()
        .filter_map(|l| l.strip_prefix('#'))
        .filter_map(|l| l.trim().split_once('='))
        .filter(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// ExecStart's words as systemd passes them to the program, for the
/// instance `gpu0` of a template on host `host`: `${X}` is one word, `$X`
/// is split at spaces, with X's value from the unit's documented example.
fn exec_args(name: &str, unit: &str) -> Vec<String> {
    let env = documented_env(unit);
    let value = |var: &str| {
        env.get(var).cloned().unwrap_or_else(|| {
            panic!("{name} uses ${var} but its header documents no example `#   {var}=...`")
        })
    };
    let mut args = Vec::new();
    for word in exec_start(unit).unwrap().split_whitespace() {
        let word = word.replace("%i", "gpu0").replace("%H", "host");
        if let Some(var) = word.strip_prefix("${").and_then(|w| w.strip_suffix('}')) {
            args.push(value(var));
        } else if let Some(var) = word.strip_prefix('$') {
            args.extend(value(var).split_whitespace().map(str::to_string));
        } else {
            assert!(
                !word.contains('$'),
                "{name}: {word} is not a variable systemd expands"
            );
            args.push(word);
        }
    }
    args
}

fn compose() -> Yaml {
    let mut docs = YamlLoader::load_from_str(&read("compose.yaml")).expect("compose.yaml is YAML");
    assert_eq!(docs.len(), 1, "compose.yaml is one document");
    docs.remove(0)
}

fn strings(y: &Yaml) -> Vec<String> {
    y.as_vec()
        .map(|v| {
            v.iter()
                .map(|s| match s {
                    Yaml::String(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    other => panic!("not a string: {other:?}"),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The services of compose.yaml, by name.
fn services(doc: &Yaml) -> BTreeMap<String, Yaml> {
    doc["services"]
        .as_hash()
        .expect("compose.yaml has services")
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone()))
        .collect()
}

/// Every command line the units and compose.yaml give `ferrite` parses: each
/// runs with `--help` appended, which clap answers only once every flag and
/// value before it is one the command takes.
#[test]
fn unit_and_compose_command_lines_parse() {
    let home = tempfile::tempdir().unwrap();
    let mut lines: Vec<(String, Vec<String>)> = Vec::new();
    for (name, text) in unit_files() {
        let mut args = exec_args(&name, &text);
        assert_eq!(args.remove(0), INSTALLED_BIN, "{name}");
        lines.push((name, args));
    }
    for (name, svc) in services(&compose()) {
        if svc["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("ferrite"))
        {
            let args = strings(&svc["command"]);
            assert!(
                !args.is_empty(),
                "compose service {name} gives ferrite no command"
            );
            lines.push((format!("compose.yaml: {name}"), args));
        }
    }
    assert!(lines.len() >= UNITS.len() + 4, "{lines:?}");
    let mut refused = Vec::new();
    for (what, mut args) in lines {
        args.push("--help".to_string());
        let out = ferrite(&args, home.path());
        if !out.status.success() {
            refused.push(format!(
                "{what}: `ferrite {}` is refused:\n{}",
                args.join(" "),
                stderr(&out)
            ));
        }
    }
    assert!(refused.is_empty(), "{}", refused.join("\n"));
}

/// The example config loads as the node loads it (with `--config`, every
/// section denying unknown keys), and its paths and ports are those the
/// units, compose.yaml and the guide use.
#[test]
fn example_config_loads_and_matches_the_units() {
    let home = tempfile::tempdir().unwrap();
    let config = deploy_dir().join("ferrite.toml");
    let args: Vec<String> = vec![
        "--home".into(),
        home.path().display().to_string(),
        "--config".into(),
        config.display().to_string(),
        "config".into(),
        "show".into(),
    ];
    let out = ferrite(&args, home.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    // `ferrite config check` passes it, and names what is wrong in a bad one.
    let check = |file: &std::path::Path| {
        let args: Vec<String> = vec![
            "--home".into(),
            home.path().display().to_string(),
            "config".into(),
            "check".into(),
            file.display().to_string(),
        ];
        ferrite(&args, home.path())
    };
    let ok = check(&config);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stdout(&ok).contains(": ok ("), "{}", stdout(&ok));
    let bad = home.path().join("bad.toml");
    std::fs::write(&bad, "[sealing.precommit_batch]\nmax_sectors = 300\n").unwrap();
    let refused = check(&bad);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("1 to 256"),
        "{}",
        stderr(&refused)
    );
    std::fs::write(&bad, "[node]\nlog_levle = \"debug\"\n").unwrap();
    let refused = check(&bad);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("log_levle"),
        "{}",
        stderr(&refused)
    );
    for line in [
        r#"log_format = "json""#,
        r#"parameter_cache = "/var/cache/filecoin-proof-parameters""#,
        r#"parent_cache = "/var/cache/filecoin-parents""#,
        r#"grpc_listen = "0.0.0.0:2346""#,
        r#"listen = ["/ip4/0.0.0.0/tcp/2348"]"#,
        r#"listen = "0.0.0.0:2347""#,
        "local_worker = false",
    ] {
        assert!(
            shown.contains(line),
            "{line} not in the effective config:\n{shown}"
        );
    }
    // The caches the config names are the units' CacheDirectory=, which
    // systemd creates and opens to the sandbox.
    for (name, text) in unit_files() {
        if name.starts_with("ferrite-devnet") {
            continue;
        }
        assert!(
            text.contains("CacheDirectory=filecoin-proof-parameters filecoin-parents"),
            "{name}"
        );
        assert!(text.contains("ReadWritePaths=/srv/ferrite"), "{name}");
    }
    let node = read("ferrite.service");
    assert!(
        exec_start(&node)
            .unwrap()
            .contains("--config /etc/ferrite/ferrite.toml"),
        "{node}"
    );
    assert!(node.contains("EnvironmentFile=/etc/ferrite/ferrite.env"));
    // The wasm JIT of the FVM needs writable executable memory.
    assert!(!node.contains("\nMemoryDenyWriteExecute="), "{node}");
    let env = read("ferrite.env.example");
    for key in ["FULLNODE_API_INFO=", "FERRITE_KEYSTORE_PASSPHRASE="] {
        assert!(
            env.lines().any(|l| l.starts_with(key)),
            "{key} in ferrite.env.example"
        );
    }
}

/// compose.yaml: the services the guide names, mounts that exist, declared
/// volumes, the workers pointed at the node, Prometheus scraping it with the
/// rules of dashboards/prometheus; the Containerfile's ports and health check.
#[test]
fn compose_prometheus_and_containerfile_agree() {
    let doc = compose();
    let services = services(&doc);
    let names: BTreeSet<&str> = services.keys().map(String::as_str).collect();
    for name in [
        "node",
        "devnet",
        "worker-pc1",
        "worker-c2",
        "prometheus",
        "grafana",
    ] {
        assert!(names.contains(name), "compose.yaml has no service {name}");
    }
    let declared: BTreeSet<String> = doc["volumes"]
        .as_hash()
        .expect("compose.yaml declares its volumes")
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    for (name, svc) in &services {
        for mount in strings(&svc["volumes"]) {
            let source = mount.split(':').next().unwrap();
            if source.starts_with('.') {
                let path = deploy_dir().join(source);
                assert!(
                    path.exists(),
                    "{name} mounts {source}: {} is missing",
                    path.display()
                );
            } else {
                assert!(
                    declared.contains(source),
                    "{name} mounts undeclared volume {source}"
                );
            }
        }
        if let Some(files) = svc["env_file"].as_vec() {
            for f in files {
                let path = f["path"].as_str().expect("env_file entries have a path");
                let example = format!("{path}.example");
                assert!(
                    deploy_dir().join(&example).is_file(),
                    "{name}: {example} is missing"
                );
            }
        }
    }

    // The node is `ferrite run` or the devnet, never both; the workers and
    // Prometheus find either as `node`.
    let profiles = |s: &str| strings(&services[s]["profiles"]);
    assert_eq!(profiles("node"), ["lotus"]);
    assert_eq!(profiles("devnet"), ["devnet"]);
    assert_eq!(strings(&services["node"]["command"])[0], "run");
    assert!(
        strings(&services["devnet"]["networks"]["default"]["aliases"]).contains(&"node".into())
    );
    let mut kinds = BTreeSet::new();
    for worker in ["worker-pc1", "worker-c2"] {
        let svc = &services[worker];
        assert!(
            profiles(worker).is_empty(),
            "{worker} runs with either node"
        );
        let cmd = strings(&svc["command"]);
        assert_eq!(cmd[0], "worker");
        let arg = |flag: &str| {
            let i = cmd
                .iter()
                .position(|a| a == flag)
                .unwrap_or_else(|| panic!("{worker}: no {flag}"));
            cmd[i + 1].clone()
        };
        assert_eq!(arg("--node"), "http://node:2346", "{worker}");
        assert!(
            kinds.insert(arg("--tasks")),
            "the workers take the same tasks"
        );
        assert_eq!(
            svc["healthcheck"]["disable"].as_bool(),
            Some(true),
            "{worker} serves no HTTP"
        );
    }
    for node in ["node", "devnet"] {
        let ports = strings(&services[node]["ports"]);
        for port in ["2345:2345", "2347:2347", "2348:2348"] {
            assert!(
                ports.iter().any(|p| p.ends_with(port)),
                "{node} publishes no {port}"
            );
        }
    }

    let prom_mounts = strings(&services["prometheus"]["volumes"]);
    assert!(prom_mounts.contains(&"./prometheus.yml:/etc/prometheus/prometheus.yml:ro".into()));
    assert!(prom_mounts.contains(&"../dashboards/prometheus:/etc/prometheus/rules:ro".into()));
    let prom = YamlLoader::load_from_str(&read("prometheus.yml")).expect("prometheus.yml is YAML");
    let prom = &prom[0];
    assert_eq!(
        strings(&prom["rule_files"]),
        ["/etc/prometheus/rules/*.rules.yml"]
    );
    let targets = strings(&prom["scrape_configs"][0]["static_configs"][0]["targets"]);
    assert_eq!(targets, ["node:2345"]);
    let rules: Vec<PathBuf> = std::fs::read_dir(deploy_dir().join("../dashboards/prometheus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".rules.yml"))
        .collect();
    assert!(!rules.is_empty(), "no *.rules.yml in dashboards/prometheus");
    for file in rules {
        let text = std::fs::read_to_string(&file).unwrap();
        let doc =
            YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            doc[0]["groups"].as_vec().is_some(),
            "{}: no groups",
            file.display()
        );
    }
    let grafana = &services["grafana"];
    assert!(
        strings(&grafana["volumes"])
            .contains(&"../dashboards/grafana:/var/lib/grafana/dashboards/ferrite:ro".into())
    );
    assert_eq!(
        grafana["environment"]["GF_PATHS_PROVISIONING"].as_str(),
        Some("/var/lib/grafana/dashboards/ferrite/provisioning")
    );

    let containerfile = read("Containerfile");
    assert!(containerfile.contains("EXPOSE 2345/tcp 2346/tcp 2347/tcp 2348/tcp"));
    assert!(containerfile.contains("http://127.0.0.1:2345/health/livez"));
    assert!(containerfile.contains(r#"ENTRYPOINT ["/usr/local/bin/ferrite"]"#));
    assert!(containerfile.contains("rustup target add wasm32-unknown-unknown"));
    assert!(containerfile.contains("\nUSER ferrite\n"));
}
