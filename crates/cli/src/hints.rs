//! The CLI's wording of library errors and warnings: the libraries say what
//! happened in their own terms ("name the app's URL"); here it becomes the
//! flag that does it (`--url`). Serve's page and MCP keep the library's
//! wording.

use std::sync::Arc;

use leakscope_hunt::session::{HuntError, TrackingWhy};
use leakscope_hunt::Warning;
use leakscope_inspector::InspectorError;
use leakscope_jit::findings::TooShort;
use leakscope_jit::session::JitError;
use leakscope_watch::WatchError;

/// `message` (the error's text as printed) with each library error in
/// `e`'s chain that names a remedy said with the CLI's flag instead.
pub fn error(e: &anyhow::Error, mut message: String) -> String {
    for cause in e.chain() {
        if let Some(cli) = hint(cause) {
            message = message.replace(&cause.to_string(), &cli);
        }
    }
    message
}

/// The CLI's wording of one library error, when it differs.
fn hint(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(e) = cause.downcast_ref::<InspectorError>() {
        inspector(e)
    } else if let Some(e) = cause.downcast_ref::<Arc<InspectorError>>() {
        inspector(e)
    } else if let Some(e) = cause.downcast_ref::<HuntError>() {
        hunt(e)
    } else if let Some(JitError::Inspector(e)) = cause.downcast_ref::<JitError>() {
        // Transparent wrappers hide the inspector's error from the chain.
        inspector(e)
    } else if let Some(WatchError::Inspector(e)) = cause.downcast_ref::<WatchError>() {
        inspector(e)
    } else {
        cause.downcast_ref::<TooShort>().map(|e| {
            format!(
                "the recording ({:.2} s, {} samples) was too short to judge: give --duration 5s or more",
                e.seconds, e.samples
            )
        })
    }
}

/// An inspector error as the CLI says it.
pub fn inspector_error(e: &InspectorError) -> String {
    inspector(e).unwrap_or_else(|| e.to_string())
}

fn inspector(e: &InspectorError) -> Option<String> {
    use leakscope_inspector::InspectorError as E;
    Some(match e {
        E::NotNode { pid, comm } => format!(
            "PID {pid} is `{comm}`, not a Node.js process; SIGUSR1 would likely kill it (if it runs an inspector, use --port)"
        ),
        E::NotLoopback { host } => format!(
            "{host} is not a loopback address; the inspector gives full code execution, so pass --allow-remote if you mean it"
        ),
        E::NoInspectorAfterSigusr1 { pid } => format!(
            "PID {pid} did not open its inspector after SIGUSR1 (the app may handle SIGUSR1 itself, which stops Node from opening it). Restart it with --inspect=127.0.0.1:0 and use --port or --url"
        ),
        E::Sigusr1Disabled { .. } | E::Sigusr1NotHandled { .. } => {
            let text = e.to_string();
            format!("{} and use --port", text.strip_suffix(" and attach to that inspector port")?)
        }
        E::NothingToLaunch => "nothing to launch after `--`".to_owned(),
        E::NoAppPort { pid } => {
            format!("PID {pid} listens on no TCP port besides the inspector; give --url")
        }
        E::SeveralAppPorts { pid, ports } => format!(
            "PID {pid} listens on several ports ({ports:?}); say which with --url http://127.0.0.1:PORT/"
        ),
        _ => return None,
    })
}

fn hunt(e: &HuntError) -> Option<String> {
    match e {
        HuntError::NoAnswer { url, error } => Some(format!(
            "the app answered no request at {url} ({error}); give --url"
        )),
        HuntError::Inspector(e) => inspector(e),
        _ => None,
    }
}

/// A report's warning (the library's sentence) as the CLI says it: the
/// library's advice swapped for the flag that does it.
pub fn warning(text: &str) -> String {
    if let Some(found) = text.strip_suffix(&format!("; {}", Warning::REFUSED_ADVICE)) {
        return format!("{found}; give --url or --request-file");
    }
    if text.strip_prefix(Warning::LITTLE_GARBAGE) == Some(Warning::LITTLE_GARBAGE_ADVICE) {
        return format!(
            "{} (--round-time) or more --budget",
            Warning::LITTLE_GARBAGE
        );
    }
    text.to_owned()
}

/// A report's confidence reason, which may be its first warning's text.
pub fn reason(reason: &str, warnings: &[String]) -> String {
    match warnings.first() {
        Some(w) if w == reason => warning(w),
        _ => reason.to_owned(),
    }
}

/// What became of allocation tracking, as the CLI says it.
pub fn tracking(why: &str) -> String {
    if why == TrackingWhy::NotAsked.to_string() {
        format!("{} (--tracking probes for it)", TrackingWhy::NOT_ASKED)
    } else {
        why.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The terminal says what it said before the libraries stopped naming
    /// the CLI's flags.
    #[test]
    fn the_cli_names_its_flags() {
        let e = anyhow::Error::from(InspectorError::NotLoopback {
            host: "192.0.2.1:9229".into(),
        });
        assert_eq!(
            error(&e, e.to_string()),
            "192.0.2.1:9229 is not a loopback address; the inspector gives full code execution, so pass --allow-remote if you mean it"
        );
        let e = anyhow::Error::from(InspectorError::Sigusr1Disabled { pid: 7 });
        assert_eq!(
            error(&e, e.to_string()),
            "PID 7 was started with --disable-sigusr1, so SIGUSR1 cannot open its inspector: restart it with --heapsnapshot-signal=SIGUSR2, send `kill -USR2 7` three times a few minutes apart and run `leakscope find-leaks` on the Heap.*.heapsnapshot files it writes, or restart it with --inspect=127.0.0.1:0 and use --port"
        );
        let e = anyhow::Error::from(HuntError::Inspector(InspectorError::NoAppPort { pid: 7 }))
            .context("the hunt failed");
        assert!(error(&e, crate::output::error_text(&e))
            .ends_with("PID 7 listens on no TCP port besides the inspector; give --url"));
        let e = anyhow::Error::from(TooShort {
            seconds: 0.5,
            samples: 3,
        });
        assert_eq!(
            error(&e, e.to_string()),
            "the recording (0.50 s, 3 samples) was too short to judge: give --duration 5s or more"
        );
        let refused = Warning::RefusedLoad {
            refused: 9000,
            sent: 9000,
            statuses: [(404, 9000)].into(),
        }
        .to_string();
        assert_eq!(
            warning(&refused),
            "9000 of 9000 responses were errors (9000 × 404): the load may not reach the code that leaks; give --url or --request-file"
        );
        assert_eq!(
            reason(&refused.to_string(), std::slice::from_ref(&refused)),
            warning(&refused)
        );
        assert_eq!(
            warning(&Warning::LittleGarbage.to_string()),
            "the main thread collected no garbage during the rounds: it allocated little (a few MB at most), so a slow leak needs longer rounds (--round-time) or more --budget"
        );
        assert_eq!(
            tracking(&TrackingWhy::NotAsked.to_string()),
            "off: sites come from closure definitions, constructors and the sampling profiler (--tracking probes for it)"
        );
    }
}
