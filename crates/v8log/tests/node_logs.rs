//! Logs written by a real `node --log-deopt --log-ic` running small apps
//! whose JIT behaviour is known, read back.

use std::path::{Path, PathBuf};
use std::process::Command;

use leakscope_v8log::{IcState, JitReport};

/// Runs `tests/apps/<app>.js` with V8's logging on; its log, read, and the
/// app's path as the log names it.
fn run(app: &str, test: &str, flags: &[&str]) -> (JitReport, Vec<u8>, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/apps/{app}.js"));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("v8log-{test}"));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("v8.log");
    let status = Command::new("node")
        .args(["--log-deopt", "--log-ic", "--no-logfile-per-isolate"])
        .args(flags)
        .arg(format!("--logfile={}", log.display()))
        .arg(&script)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("node runs");
    assert!(status.success());
    let bytes = std::fs::read(&log).unwrap();
    let report = leakscope_v8log::read(&bytes[..]).unwrap();
    (report, bytes, script.display().to_string())
}

fn function<'a>(r: &'a JitReport, name: &str, url: &str) -> (u32, &'a leakscope_v8log::Function) {
    let (i, f) = r
        .functions
        .iter()
        .enumerate()
        .find(|(_, f)| f.name == name && f.position.as_ref().is_some_and(|p| p.url == url))
        .unwrap_or_else(|| panic!("{name} in {url} is in the log"));
    (i as u32, f)
}

#[test]
fn a_property_read_from_many_shapes_is_megamorphic_at_its_line() {
    let (r, _, url) = run("megamorphic", "megamorphic", &[]);
    assert!(r.v8_version.is_some());
    let (line_total, f) = function(&r, "lineTotal", &url);
    assert_eq!(f.position.as_ref().unwrap().line, 2);
    assert_eq!(f.lines, Some((2, 4)), "lineTotal spans lines 2-4");
    assert!(f.ever_optimized(), "{f:?}");
    let site = r
        .ic_sites
        .iter()
        .find(|s| s.function == Some(line_total) && s.key == "qty")
        .expect("the .qty load is logged");
    assert_eq!(site.kind, "LoadIC");
    assert_eq!((site.line, site.column), (3, 15), "`item.qty` on line 3");
    assert_eq!(site.worst, IcState::Megamorphic);
    assert!(site.states.contains(&IcState::Polymorphic));
    assert_eq!(site.maps, 8, "one map per shape");
    assert_eq!(
        r.site_position(site).unwrap().to_string(),
        format!("{url}:3:15")
    );
}

#[test]
fn a_small_integer_function_given_strings_deoptimizes_with_its_reason() {
    // Without inlining, `add` is optimized on its own rather than inside
    // its callers (which V8 decides by timing), so it is `add` that deoptimizes.
    let (r, _, url) = run("deopt", "deopt", &["--no-turbo-inlining"]);
    let (add, f) = function(&r, "add", &url);
    assert!(
        f.compilations.turbofan + f.compilations.maglev >= 2,
        "re-optimized: {f:?}"
    );
    assert!(f.deopts >= 1);
    let deopt = r
        .deopts
        .iter()
        .find(|d| d.function == add)
        .expect("add deoptimized");
    assert_eq!(deopt.reason, "not a Smi");
    assert_eq!(deopt.kind, "deopt-eager");
    assert_eq!(
        deopt.position.as_ref().unwrap().to_string(),
        format!("{url}:5:12")
    );
}

#[test]
fn a_monomorphic_hot_function_has_no_ic_problem() {
    let (r, _, url) = run("monomorphic", "monomorphic", &[]);
    let (line_total, f) = function(&r, "lineTotal", &url);
    assert!(f.ever_optimized());
    assert_eq!(f.deopts, 0);
    let sites: Vec<_> = r
        .ic_sites
        .iter()
        .filter(|s| s.function == Some(line_total))
        .collect();
    assert!(!sites.is_empty(), "its loads are logged");
    assert!(
        sites
            .iter()
            .all(|s| s.worst <= IcState::Monomorphic && s.maps <= 1),
        "{sites:?}"
    );
}

#[test]
fn a_real_log_cut_anywhere_reads_what_came_before() {
    let (whole, bytes, _) = run("deopt", "cut", &[]);
    assert!(!whole.cut_short);
    assert_eq!(whole.unreadable_lines, 0);
    for cut in [0, 1, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        let r = leakscope_v8log::read(&bytes[..cut]).unwrap();
        assert!(r.lines <= whole.lines);
        assert!(
            r.deopts.iter().map(|d| d.count).sum::<u32>()
                <= whole.deopts.iter().map(|d| d.count).sum()
        );
        assert_eq!(r.cut_short, cut > 0 && bytes[cut - 1] != b'\n');
    }
}
