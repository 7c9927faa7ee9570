//! specnorm stats (work in progress).
