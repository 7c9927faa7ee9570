//! Fault injection for tests (cargo feature `fault-injection`, off by default).

use std::io;
use std::path::Path;

/// Environment variable naming the writes to fail: every [`crate::write`] /
/// [`crate::write_with`] whose target path contains its value fails with `ENOSPC` ("No space
/// left on device") after the content was written to the temporary file, as a full disk would
/// fail the final flush. Only read when the crate is built with the `fault-injection` feature.
pub const FAIL_WRITES_ENV: &str = "SPECNORM_FAIL_WRITES";

/// The injected error for `path`, if [`FAIL_WRITES_ENV`] selects it.
pub(crate) fn injected(path: &Path) -> Option<io::Error> {
    if !cfg!(feature = "fault-injection") {
        return None;
    }
    let pattern = std::env::var_os(FAIL_WRITES_ENV)?;
    let pattern = pattern.to_string_lossy();
    if pattern.is_empty() || !path.to_string_lossy().contains(&*pattern) {
        return None;
    }
    // ENOSPC on Linux and the BSDs/macOS.
    Some(io::Error::from_raw_os_error(28))
}
