//! specnorm audio (work in progress).
