//! specnorm features (work in progress).
